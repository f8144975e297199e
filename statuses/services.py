"""Writes of Account Status Types and Status Reasons. The Setup pages and the API both call these, so
the rules and their messages are the same everywhere. Each write locks first, re-checks, then saves."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import PROTECT

from engage.audit import AuditAction, audit_record, snapshot
from engage.errors import DomainError, FieldErrors

from .models import AccountStatusType, StatusReason
from .rules import BackendStatus, StatusChangeState
from .selectors import status_type_account_count
from .signals import backend_status_changed
from .validators import clean_name, validate_image_url

TYPE_FIELDS = ("name", "backend_status", "image_url", "show_in_statistics", "is_default")
REASON_FIELDS = ("name", "backend_statuses", "is_active")


def _raise_if(errors: dict[str, list[str]]):
    if errors:
        raise FieldErrors(errors)


def name_problem(name, model, pk, what) -> tuple[str, str | None]:
    """(cleaned name, message or None). Unique ignoring case, compared in Python so that SQLite (whose
    LOWER() only folds ASCII) refuses "École"/"école" just as PostgreSQL does."""
    try:
        name = clean_name(name)
    except ValidationError as exc:
        return "", exc.messages[0]
    folded = name.lower()
    for other in model.objects.exclude(pk=pk).values_list("name", flat=True):
        if other.lower() == folded:
            return name, f"A {what} named “{other}” already exists (names are unique, ignoring case)."
    return name, None


def _image_url_problem(value) -> tuple[str, str | None]:
    value = str(value or "").strip()
    try:
        validate_image_url(value)
    except ValidationError as exc:
        return value, exc.messages[0]
    return value, None


# ---- Account Status Types ----------------------------------------------------------------------


def status_type_problems(instance: AccountStatusType | None, fields: dict) -> tuple[dict, dict[str, list[str]]]:
    """Check the fields given (a partial edit gives only some) against SPEC §3.
    Returns (the cleaned values, {field: [message]}). Reads only; the writers call it under a lock."""
    errors: dict[str, list[str]] = {}
    values = {f: getattr(instance, f) for f in TYPE_FIELDS} if instance else {
        "name": "", "backend_status": "", "image_url": "", "show_in_statistics": True, "is_default": False,
    }
    pk = instance.pk if instance else None
    if instance is None or "name" in fields:
        values["name"], problem = name_problem(fields.get("name"), AccountStatusType, pk, "status type")
        if problem:
            errors["name"] = [problem]
    if instance is None or "backend_status" in fields:
        values["backend_status"] = fields.get("backend_status") or ""
        if values["backend_status"] not in BackendStatus.values:
            errors["backend_status"] = [
                "Pick a status: " + ", ".join(BackendStatus.labels) + "." if not values["backend_status"]
                else "Status must be one of: " + ", ".join(BackendStatus.values) + "."
            ]
    if "image_url" in fields:
        values["image_url"], problem = _image_url_problem(fields["image_url"])
        if problem:
            errors["image_url"] = [problem]
    for flag in ("show_in_statistics", "is_default"):
        if flag in fields:
            values[flag] = bool(fields[flag])

    was_default = bool(instance and instance.is_default)
    old_backend = instance.backend_status if instance else None
    new_backend = values["backend_status"]
    if "backend_status" not in errors:
        if instance and old_backend != new_backend and BackendStatus.PROSPECT in (old_backend, new_backend):
            in_use = _accounts_using(instance)
            if in_use:
                errors["backend_status"] = [
                    f"{in_use:,} account{'s use' if in_use != 1 else ' uses'} this type, so its status cannot be "
                    "changed to or from Prospect: prospect is only an initial status and can never be re-entered."
                ]
        if values["is_default"] and new_backend == BackendStatus.CANCELLED:
            field = "backend_status" if was_default and old_backend != new_backend else "is_default"
            errors.setdefault(field, []).append(
                "The default type for new accounts cannot be a cancelled type"
                + (": make another type the default first." if was_default else ".")
            )
    if was_default and not values["is_default"]:
        errors.setdefault("is_default", []).append(
            "There must always be a default type for new accounts: to change it, make another type the default."
        )
    # A cancelled type can never be the default: replacing the current default would not help, so that
    # advice is not given beside the refusal.
    cancelled_default = values["is_default"] and new_backend == BackendStatus.CANCELLED
    if values["is_default"] and not was_default and not fields.get("replace_default") and not cancelled_default:
        current = AccountStatusType.objects.filter(is_default=True).exclude(pk=pk).first()
        if current is not None:
            errors.setdefault("is_default", []).append(
                f"“{current.name}” is already the default type for new accounts, and there is only one. "
                "Also tick “Replace the current default” to make this type the default instead."
            )
    return values, errors


def _accounts_using(status_type: AccountStatusType) -> int:
    """How many accounts use the type: exists() decides (an index probe), the counter kept with every
    change gives the number, so no COUNT(*) over a million accounts."""
    if not status_type.accounts.exists():
        return 0
    return max(status_type_account_count(status_type), 1)


def _lock_default():
    """Lock the current default row, so that default moves mostly queue up behind each other."""
    return list(AccountStatusType.objects.select_for_update().filter(is_default=True).order_by("pk"))


def _clear_default(*, except_pk):
    # An UPDATE, not the rows locked above: if another move committed meanwhile, the default is now a
    # different row, and this statement (re-evaluated after the wait) still finds and clears it.
    AccountStatusType.objects.filter(is_default=True).exclude(pk=except_pk).update(is_default=False)


def _save(obj, problems, instance, fields, fallback: str):
    """Save in a savepoint; if a concurrent request took the name (or the default) meanwhile, the
    database refuses it and the same checks as before the save say which field and why."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        _values, errors = problems(instance, fields)
        raise FieldErrors(errors or {"name": [fallback]}) from exc
    return obj


def _save_type(status_type: AccountStatusType, instance, fields):
    return _save(status_type, status_type_problems, instance, fields,
                 "This status type could not be saved: its name or the default was taken by another change "
                 "just now. Try again.")


@transaction.atomic
def status_type_create(*, name, backend_status, image_url="", show_in_statistics=True, is_default=False,
                       replace_default=False) -> AccountStatusType:
    """A new type. Its name is unique ignoring case; it is the default only if no type is, or if the caller
    asks to replace the current default (never a cancelled type)."""
    fields = {"name": name, "backend_status": backend_status, "image_url": image_url,
              "show_in_statistics": show_in_statistics, "is_default": is_default, "replace_default": replace_default}
    _lock_default()
    values, errors = status_type_problems(None, fields)
    _raise_if(errors)
    status_type = AccountStatusType(**values)
    if status_type.is_default:
        _clear_default(except_pk=None)
    _save_type(status_type, None, fields)
    audit_record(action=AuditAction.CREATE, obj=status_type, after=snapshot(status_type, TYPE_FIELDS))
    return status_type


@transaction.atomic
def status_type_update(status_type: AccountStatusType, **fields) -> AccountStatusType:
    """Edit a type. Changing the back-end status is allowed (its accounts follow at the next pass, with no
    proration lines), but never to or from prospect while any account uses the type. Exactly one default
    remains: the default cannot be unticked, only replaced by ticking another type."""
    unknown = set(fields) - set(TYPE_FIELDS) - {"replace_default"}
    if unknown:
        raise TypeError(f"status_type_update() got unexpected fields: {', '.join(sorted(unknown))}")
    _lock_default()
    try:
        locked = AccountStatusType.objects.select_for_update().get(pk=status_type.pk)
    except AccountStatusType.DoesNotExist as exc:
        raise DomainError("This status type no longer exists: another administrator deleted it.") from exc
    old_backend = locked.backend_status
    values, errors = status_type_problems(locked, fields)
    _raise_if(errors)
    changed = [f for f in TYPE_FIELDS if getattr(locked, f) != values[f]]
    if not changed:
        return locked
    before = snapshot(locked, changed)
    for f in changed:
        setattr(locked, f, values[f])
    if "is_default" in changed and locked.is_default:
        _clear_default(except_pk=locked.pk)
    _save_type(locked, locked, fields)
    audit_record(action=AuditAction.UPDATE, obj=locked, before=before, after=snapshot(locked, changed))
    if old_backend != locked.backend_status:
        backend_status_changed.send(
            sender=AccountStatusType, status_type=locked, old=old_backend, new=locked.backend_status
        )
    return locked


def _set_up_elsewhere(obj) -> list[str]:
    """What else holds on to the row and keeps it from being deleted: the rows of other apps that name it
    (a collection step, say) and are not accounts' own data, found through the model's relations, so that
    statuses need not know those apps. "collection steps use it"."""
    found = []
    for relation in obj._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete and relation.one_to_many):
            continue
        model = relation.related_model
        if model._meta.app_label in ("accounts", "statuses", "reporting") or relation.on_delete is not PROTECT:
            continue
        if model._base_manager.filter(**{relation.field.name: obj}).exists():
            found.append(f"{model._meta.verbose_name_plural} use it")
    return found


def status_type_delete_refusal(status_type: AccountStatusType) -> str | None:
    """Why this type may not be deleted (every reason, joined), or None: the default, a type any account
    uses, one a pending change targets, or one on accounts' status history (history is never rewritten)."""
    reasons = []
    if status_type.is_default:
        reasons.append("it is the default type for new accounts")
    in_use = _accounts_using(status_type)
    if in_use:
        reasons.append(f"{in_use:,} account{'s use' if in_use != 1 else ' uses'} it")
    pending = status_type.targeted_changes.filter(state=StatusChangeState.PENDING).count()
    if pending:
        reasons.append(f"{pending:,} pending status change{'s target' if pending != 1 else ' targets'} it")
    if (
        status_type.targeted_changes.exclude(state=StatusChangeState.PENDING).exists()
        or status_type.left_changes.exclude(state=StatusChangeState.PENDING).exists()
    ):
        reasons.append("it appears in accounts' status history")
    reasons += _set_up_elsewhere(status_type)
    return "; ".join(reasons) + "." if reasons else None


def _delete_each(model, ids: list[int], refusal, taken_up: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Lock the checked rows in pk order; delete each one its refusal lets go, each whole (in a savepoint)
    or not at all, and name each one kept and why. `taken_up` says why a row the database refused at the
    last moment was kept (ProtectedError is an IntegrityError: something took it up meanwhile)."""
    deleted, refused = [], []
    fields = TYPE_FIELDS if model is AccountStatusType else REASON_FIELDS
    with transaction.atomic():
        for obj in model.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
            why = refusal(obj)
            if why:
                refused.append((obj.name, why))
                continue
            try:
                with transaction.atomic():  # the entry goes with the row, or stays with it
                    audit_record(action=AuditAction.DELETE, obj=obj, before=snapshot(obj, fields))
                    obj.delete()
            except IntegrityError:
                refused.append((obj.name, taken_up))
            else:
                deleted.append(obj.name)
    return deleted, refused


def status_types_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the checked types that may go (with their counters); name each one kept and why."""
    return _delete_each(
        AccountStatusType, ids, status_type_delete_refusal, "it came into use while it was being deleted."
    )


# ---- Status Reasons ----------------------------------------------------------------------------


def _backend_statuses_problem(values) -> tuple[list[str], str | None]:
    if isinstance(values, str):
        values = [values]
    values = list(values or [])
    bad = [str(v) for v in values if v not in BackendStatus.values]
    if bad:
        return [], f"Unknown status {', '.join(bad)}: pick from {', '.join(BackendStatus.values)}."
    if not values:
        return [], "Pick at least one status this reason applies to."
    return [s for s in BackendStatus.values if s in values], None


def status_reason_problems(instance: StatusReason | None, fields: dict) -> tuple[dict, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    values = {f: getattr(instance, f) for f in REASON_FIELDS} if instance else {
        "name": "", "backend_statuses": [], "is_active": True,
    }
    if instance is None or "name" in fields:
        values["name"], problem = name_problem(
            fields.get("name"), StatusReason, instance.pk if instance else None, "status reason"
        )
        if problem:
            errors["name"] = [problem]
    if instance is None or "backend_statuses" in fields:
        values["backend_statuses"], problem = _backend_statuses_problem(fields.get("backend_statuses"))
        if problem:
            errors["backend_statuses"] = [problem]
    if "is_active" in fields:
        values["is_active"] = bool(fields["is_active"])
    return values, errors


def _save_reason(reason, instance, fields):
    return _save(reason, status_reason_problems, instance, fields,
                 "This status reason could not be saved: its name was taken by another change just now. Try again.")


@transaction.atomic
def status_reason_create(*, name, backend_statuses, is_active=True) -> StatusReason:
    """A new reason: a name unique ignoring case, and one or more back-end statuses it applies to."""
    fields = {"name": name, "backend_statuses": backend_statuses, "is_active": is_active}
    values, errors = status_reason_problems(None, fields)
    _raise_if(errors)
    reason = _save_reason(StatusReason(**values), None, fields)
    audit_record(action=AuditAction.CREATE, obj=reason, after=snapshot(reason, REASON_FIELDS))
    return reason


@transaction.atomic
def status_reason_update(reason: StatusReason, **fields) -> StatusReason:
    """Edit a reason; retiring it (is_active=False) hides it from pick lists and keeps it on history."""
    unknown = set(fields) - set(REASON_FIELDS)
    if unknown:
        raise TypeError(f"status_reason_update() got unexpected fields: {', '.join(sorted(unknown))}")
    try:
        locked = StatusReason.objects.select_for_update().get(pk=reason.pk)
    except StatusReason.DoesNotExist as exc:
        raise DomainError("This status reason no longer exists: another administrator deleted it.") from exc
    values, errors = status_reason_problems(locked, fields)
    _raise_if(errors)
    changed = [f for f in REASON_FIELDS if getattr(locked, f) != values[f]]
    if changed:
        before = snapshot(locked, changed)
        for f in changed:
            setattr(locked, f, values[f])
        _save_reason(locked, locked, fields)
        audit_record(action=AuditAction.UPDATE, obj=locked, before=before, after=snapshot(locked, changed))
    return locked


def status_reason_delete_refusal(reason: StatusReason) -> str | None:
    """A reason that status changes name is kept (history is never rewritten): retire it instead."""
    used = reason.status_changes.count()
    if used:
        return (
            f"{used:,} status change{'s give' if used != 1 else ' gives'} it as the reason; "
            "retire it instead (untick Active) to hide it from pick lists."
        )
    elsewhere = _set_up_elsewhere(reason)
    return "; ".join(elsewhere) + ": change them first." if elsewhere else None


def status_reasons_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the checked reasons no status change names; name each one kept and why."""
    return _delete_each(
        StatusReason, ids, status_reason_delete_refusal, "a status change named it while it was being deleted."
    )
