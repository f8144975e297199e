"""Writes of Account Status Types and Status Reasons. The Setup pages and the API both call these, so
the rules and their messages are the same everywhere. Each write locks first, re-checks, then saves."""

from django.core.exceptions import ValidationError
from django.db import transaction

from engage.audit import snapshot
from engage.setup_services import check_fields, model_create, model_update, models_delete

from .models import AccountStatusType, StatusReason
from .rules import BackendStatus
from .signals import backend_status_changed
from .usage import accounts_using, holds
from .validators import clean_name, validate_image_url

TYPE_FIELDS = ("name", "backend_status", "image_url", "show_in_statistics", "is_default")
REASON_FIELDS = ("name", "backend_statuses", "is_active")


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
            in_use = accounts_using(instance)
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


def _lock_default():
    """Lock the current default row, so that default moves mostly queue up behind each other."""
    return list(AccountStatusType.objects.select_for_update().filter(is_default=True).order_by("pk"))


def _clear_default(*, except_pk):
    # An UPDATE, not the rows locked above: if another move committed meanwhile, the default is now a
    # different row, and this statement (re-evaluated after the wait) still finds and clears it.
    AccountStatusType.objects.filter(is_default=True).exclude(pk=except_pk).update(is_default=False)


TYPE_TAKEN = ("This status type could not be saved: its name or the default was taken by another change just now. "
              "Try again.")
REASON_TAKEN = "This status reason could not be saved: its name was taken by another change just now. Try again."


def _type_record(status_type: AccountStatusType) -> dict:
    return snapshot(status_type, TYPE_FIELDS)


def _reason_record(reason: StatusReason) -> dict:
    return snapshot(reason, REASON_FIELDS)


@transaction.atomic
def status_type_create(*, name, backend_status, image_url="", show_in_statistics=True, is_default=False,
                       replace_default=False) -> AccountStatusType:
    """A new type. Its name is unique ignoring case; it is the default only if no type is, or if the caller
    asks to replace the current default (never a cancelled type)."""
    fields = {"name": name, "backend_status": backend_status, "image_url": image_url,
              "show_in_statistics": show_in_statistics, "is_default": is_default, "replace_default": replace_default}
    _lock_default()

    def prepare(status_type):
        if status_type.is_default:
            _clear_default(except_pk=None)

    return model_create(AccountStatusType, fields=fields, problems=status_type_problems, record=_type_record,
                        taken=TYPE_TAKEN, prepare=prepare)


@transaction.atomic
def status_type_update(status_type: AccountStatusType, **fields) -> AccountStatusType:
    """Edit a type. Changing the back-end status is allowed (its accounts follow at the next pass, with no
    proration lines), but never to or from prospect while any account uses the type. Exactly one default
    remains: the default cannot be unticked, only replaced by ticking another type."""
    check_fields("status_type_update", fields, [*TYPE_FIELDS, "replace_default"])
    _lock_default()

    def prepare(locked, changed_fields):
        if "is_default" in changed_fields and locked.is_default:
            _clear_default(except_pk=locked.pk)

    locked, before, _after = model_update(
        status_type, fields=fields, problems=status_type_problems, record=_type_record, taken=TYPE_TAKEN,
        gone="This status type no longer exists: another administrator deleted it.", prepare=prepare,
    )
    if "backend_status" in before:
        backend_status_changed.send(sender=AccountStatusType, status_type=locked, old=before["backend_status"],
                                    new=locked.backend_status)
    return locked


def status_type_delete_refusal(status_type: AccountStatusType) -> str | None:
    """Why this type may not be deleted (every reason, joined), or None: the default, or whatever the apps
    that use types say holds it (accounts of the type, a pending change to it, accounts' status history,
    collection steps, …: statuses.usage)."""
    reasons = ["it is the default type for new accounts"] if status_type.is_default else []
    reasons += holds(status_type)
    return "; ".join(reasons) + "." if reasons else None


def status_types_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the checked types that may go (with their counters); name each one kept and why."""
    return models_delete(AccountStatusType, ids, refusal=status_type_delete_refusal, record=_type_record,
                         taken_up="it came into use while it was being deleted.")


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


@transaction.atomic
def status_reason_create(*, name, backend_statuses, is_active=True) -> StatusReason:
    """A new reason: a name unique ignoring case, and one or more back-end statuses it applies to."""
    fields = {"name": name, "backend_statuses": backend_statuses, "is_active": is_active}
    return model_create(StatusReason, fields=fields, problems=status_reason_problems, record=_reason_record,
                        taken=REASON_TAKEN)


@transaction.atomic
def status_reason_update(reason: StatusReason, **fields) -> StatusReason:
    """Edit a reason; retiring it (is_active=False) hides it from pick lists and keeps it on history."""
    check_fields("status_reason_update", fields, REASON_FIELDS)
    return model_update(
        reason, fields=fields, problems=status_reason_problems, record=_reason_record, taken=REASON_TAKEN,
        gone="This status reason no longer exists: another administrator deleted it.",
    )[0]


def status_reason_delete_refusal(reason: StatusReason) -> str | None:
    """What the apps that use reasons say holds it (statuses.usage): status changes that give it (history is
    never rewritten: retire it instead), collection steps, …"""
    reasons = holds(reason)
    return "; ".join(reasons) + "." if reasons else None


def status_reasons_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the checked reasons no status change names; name each one kept and why."""
    return models_delete(StatusReason, ids, refusal=status_reason_delete_refusal, record=_reason_record,
                         taken_up="a status change named it while it was being deleted.")
