"""The writes every kind of Setup data shares (status types, reasons, collection steps), in the manner of
HackSoft's `model_update`: lock the row, re-check every rule, set only what changed, save, and record the
difference in the audit log, in the caller's transaction. Each kind gives its rules as
`problems(instance, fields) -> (values, {field: [message]})` (the same function its form and API call) and
`record(obj) -> dict`, what its audit entries hold."""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from .audit import audit_record, changed
from .errors import DomainError, FieldErrors
from .models import AuditAction

Problems = Callable[[object, dict], tuple[dict, dict[str, list[str]]]]


def check_fields(function: str, fields: dict, allowed) -> None:
    """A caller in code naming a field the kind does not have is a bug, not a user's mistake."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"{function}() got unexpected fields: {', '.join(sorted(unknown))}")


def save_checked(obj, *, problems: Problems, instance, fields: dict, taken: str):
    """Save in a savepoint; if a concurrent request took the name (or the default) meanwhile, the database
    refuses it and the same checks as before the save say which field and why (`taken` when they find
    nothing)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        _values, errors = problems(instance, fields)
        raise FieldErrors(errors or {"name": [taken]}) from exc
    return obj


def model_create(model, *, fields: dict, problems: Problems, record: Callable[[object], dict], taken: str,
                 prepare: Callable[[object], None] | None = None):
    """A new row whose every rule holds (FieldErrors names each problem); `prepare(obj)` runs just before
    the save. Audited with its values."""
    values, errors = problems(None, fields)
    if errors:
        raise FieldErrors(errors)
    obj = model(**values)
    if prepare is not None:
        prepare(obj)
    save_checked(obj, problems=problems, instance=None, fields=fields, taken=taken)
    audit_record(action=AuditAction.CREATE, obj=obj, after=record(obj))
    return obj


def model_update(instance, *, fields: dict, problems: Problems, record: Callable[[object], dict], gone: str,
                 taken: str, prepare: Callable[[object, list[str]], None] | None = None):
    """Lock the row, re-check every rule against it as it is now, set the values that differ, run
    `prepare(row, changed fields)`, save, and audit the difference. Returns (the row, before, after): the
    recorded values that changed, as the audit entry holds them; nothing is saved or audited when nothing
    changed. DomainError (`gone`) when another request deleted it."""
    model = type(instance)
    try:
        locked = model.objects.select_for_update().get(pk=instance.pk)
    except model.DoesNotExist:
        raise DomainError(gone) from None
    values, errors = problems(locked, fields)
    if errors:
        raise FieldErrors(errors)
    changed_fields = [field for field, value in values.items() if getattr(locked, field) != value]
    if not changed_fields:
        return locked, {}, {}
    before = record(locked)
    for field in changed_fields:
        setattr(locked, field, values[field])
    if prepare is not None:
        prepare(locked, changed_fields)
    save_checked(locked, problems=problems, instance=locked, fields=fields, taken=taken)
    old, new = changed(before, record(locked))
    if new or old:
        audit_record(action=AuditAction.UPDATE, obj=locked, before=old, after=new)
    return locked, old, new


def models_delete(model, ids, *, refusal: Callable[[object], str | None], record: Callable[[object], dict],
                  taken_up: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Lock the checked rows in pk order; delete each one its refusal lets go, each whole (in a savepoint)
    or not at all, and name each one kept and why. `taken_up` says why a row the database refused at the
    last moment was kept (ProtectedError is an IntegrityError: something took it up meanwhile)."""
    deleted, refused = [], []
    with transaction.atomic():
        for obj in model.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            why = refusal(obj)
            if why:
                refused.append((obj.name, why))
                continue
            try:
                with transaction.atomic():  # the entry goes with the row, or stays with it
                    audit_record(action=AuditAction.DELETE, obj=obj, before=record(obj))
                    obj.delete()
            except IntegrityError:
                refused.append((obj.name, taken_up))
            else:
                deleted.append(obj.name)
    return deleted, refused
