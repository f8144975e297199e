"""Errors shared by every layer: services raise DomainError (or FieldErrors, or ConflictError); pages show
them on their form with `add_to_form`, and the API answers them with `api_exception_handler`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A business rule refused the request; the message is shown to the user as it is."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code  # which rule refused, for callers that sort refusals (the bulk change's skip reasons)

    @property
    def errors(self) -> dict[str | None, list[str]]:
        """{field: [message]}; None is the form (or the request) as a whole."""
        return {self.field: [self.message]}


class FieldErrors(DomainError):
    """One or more fields are invalid; `errors` maps each field to its messages (the first is `message`)."""

    def __init__(self, errors: dict[str, list[str]]):
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=field)
        self._errors = errors

    @property
    def errors(self) -> dict[str | None, list[str]]:
        return self._errors


class NotFoundError(DomainError):
    """What the request names does not exist: HTTP 404."""

    status_code = 404


class ConflictError(DomainError):
    """The data changed underneath the request (stale form, executed change): HTTP 409."""

    status_code = 409


def add_to_form(form, err: DomainError) -> None:
    """Put each message on its field, or on the form when the form has no such field."""
    for field, messages in err.errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def api_exception_handler(exc, context):
    """A DomainError answers {field: [message]} when it names fields, else {"detail": message}."""
    if isinstance(exc, DomainError):
        errors = exc.errors
        if None in errors:
            return Response({"detail": errors[None][0]}, status=exc.status_code)
        return Response(errors, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    return exception_handler(exc, context)
