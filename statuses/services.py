"""Writes of Account Status Types and Status Reasons. Pages and API both call these, so the rules
and their messages are the same everywhere."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from engage.errors import DomainError

from .models import AccountStatusType, StatusReason
from .rules import BackendStatus
from .signals import backend_status_changed
from .validators import validate_image_url

NAME_MAX = 100


def _clean_name(name: str | None, model, instance=None, what="status type") -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("Name is required.", field="name")
    if len(name) > NAME_MAX:
        raise DomainError(f"Name must be at most {NAME_MAX} characters (it has {len(name)}).", field="name")
    clash = model.objects.filter(name__iexact=name)
    if instance is not None and instance.pk:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise DomainError(f"A {what} named “{clash.first().name}” already exists.", field="name")
    return name


def _check_backend_status(value) -> str:
    if value not in BackendStatus.values:
        raise DomainError(
            f"Status must be one of: {', '.join(BackendStatus.values)}.", field="backend_status"
        )
    return value


def _check_image_url(value) -> str:
    value = (value or "").strip()
    try:
        validate_image_url(value)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="image_url") from exc
    return value


def _save(obj, what):
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        # A concurrent save of the same name or a second default: the database refused it.
        raise DomainError(f"This {what} could not be saved: the name or default is already taken.") from exc
    return obj


@transaction.atomic
def status_type_create(*, name, backend_status, image_url="", show_in_statistics=True, is_default=False):
    """A new type; name unique case-insensitively; a new default replaces the old one."""
    status_type = AccountStatusType(
        name=_clean_name(name, AccountStatusType),
        backend_status=_check_backend_status(backend_status),
        image_url=_check_image_url(image_url),
        show_in_statistics=bool(show_in_statistics),
        is_default=bool(is_default),
    )
    _check_default(status_type, was_default=False)
    if status_type.is_default:
        AccountStatusType.objects.select_for_update().filter(is_default=True).update(is_default=False)
    return _save(status_type, "status type")


@transaction.atomic
def status_type_update(status_type: AccountStatusType, **fields):
    """Edit a type. Changing the back-end status is allowed (accounts follow at the next pass), but
    never to or from prospect while any account uses the type; exactly one default always remains."""
    locked = AccountStatusType.objects.select_for_update().get(pk=status_type.pk)
    old_backend = locked.backend_status
    was_default = locked.is_default
    if "name" in fields:
        locked.name = _clean_name(fields["name"], AccountStatusType, locked)
    if "backend_status" in fields:
        locked.backend_status = _check_backend_status(fields["backend_status"])
    if "image_url" in fields:
        locked.image_url = _check_image_url(fields["image_url"])
    if "show_in_statistics" in fields:
        locked.show_in_statistics = bool(fields["show_in_statistics"])
    if "is_default" in fields:
        locked.is_default = bool(fields["is_default"])
    new_backend = locked.backend_status
    if old_backend != new_backend and BackendStatus.PROSPECT in (old_backend, new_backend):
        if locked.accounts.exists():
            raise DomainError(
                "Accounts use this type, so it cannot be changed to or from Prospect: "
                "an account can never re-enter prospect, and a prospect has never been billed.",
                field="backend_status",
            )
    _check_default(locked, was_default=was_default)
    if locked.is_default and not was_default:
        AccountStatusType.objects.select_for_update().filter(is_default=True).exclude(pk=locked.pk).update(
            is_default=False
        )
    _save(locked, "status type")
    if old_backend != new_backend:
        backend_status_changed.send(sender=AccountStatusType, status_type=locked, old=old_backend, new=new_backend)
    return locked


def _check_default(status_type, *, was_default):
    if status_type.is_default and status_type.backend_status == BackendStatus.CANCELLED:
        raise DomainError("The default type for new accounts cannot be a cancelled type.", field="is_default")
    if was_default and not status_type.is_default:
        raise DomainError(
            "There must be a default type: make another type the default instead.", field="is_default"
        )


def status_type_delete_refusal(status_type: AccountStatusType) -> str | None:
    """Why this type may not be deleted, or None."""
    if status_type.is_default:
        return "it is the default type for new accounts."
    if status_type.accounts.exists():
        return "accounts use it."
    if status_type.targeted_changes.filter(state="pending").exists():
        return "a pending status change targets it."
    if status_type.targeted_changes.exists() or status_type.left_changes.exists():
        return "it appears in accounts' status history."
    return None


def status_types_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the types that may go; name each one kept and why. Each row goes whole or not at all."""
    deleted, refused = [], []
    with transaction.atomic():
        for status_type in AccountStatusType.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            why = status_type_delete_refusal(status_type)
            if why:
                refused.append((status_type.name, why))
                continue
            try:
                with transaction.atomic():
                    status_type.delete()
            except IntegrityError:
                refused.append((status_type.name, "it came into use while it was being deleted."))
            else:
                deleted.append(status_type.name)
    return deleted, refused


def _clean_backend_statuses(values) -> list[str]:
    values = list(values or [])
    bad = [v for v in values if v not in BackendStatus.values]
    if bad or not values:
        raise DomainError(
            f"Pick one or more of: {', '.join(BackendStatus.values)}.", field="backend_statuses"
        )
    return [s for s in BackendStatus.values if s in values]


@transaction.atomic
def status_reason_create(*, name, backend_statuses, is_active=True):
    reason = StatusReason(
        name=_clean_name(name, StatusReason, what="status reason"),
        backend_statuses=_clean_backend_statuses(backend_statuses),
        is_active=bool(is_active),
    )
    return _save(reason, "status reason")


@transaction.atomic
def status_reason_update(reason: StatusReason, **fields):
    """Edit a reason; retiring it hides it from pick lists and keeps it on history."""
    locked = StatusReason.objects.select_for_update().get(pk=reason.pk)
    if "name" in fields:
        locked.name = _clean_name(fields["name"], StatusReason, locked, what="status reason")
    if "backend_statuses" in fields:
        locked.backend_statuses = _clean_backend_statuses(fields["backend_statuses"])
    if "is_active" in fields:
        locked.is_active = bool(fields["is_active"])
    return _save(locked, "status reason")


def status_reasons_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    deleted, refused = [], []
    with transaction.atomic():
        for reason in StatusReason.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            if reason.status_changes.exists():
                refused.append((reason.name, "status changes name it; retire it instead (untick Active)."))
                continue
            reason.delete()
            deleted.append(reason.name)
    return deleted, refused
