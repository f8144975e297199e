"""Writes of Collection Steps (Setup → Accounts and Roles → Collection Steps, and the API): the rules and
their messages in one place, checked again under a lock on save, like the other Setup objects."""

import re

from django.db import transaction
from django.db.models import Max, Q

from engage.audit import snapshot
from engage.errors import DomainError
from engage.limits import BODY_MAX_CHARS, SUBJECT_MAX_CHARS, check_amount, check_text
from engage.setup_services import check_fields, model_create, model_update, models_delete
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus, ChangeOption
from statuses.services import name_problem

from .models import CollectionAction, CollectionEpisode, CollectionStep

STEP_FIELDS = ("name", "position", "days_overdue", "min_amount", "action", "status_type", "reason", "option",
               "restore_to", "subject", "body")
MAX_DAYS = 3650
# What a reminder may say about the account; nothing else is filled in.
PLACEHOLDERS = {
    "name": "the account's name",
    "number": "the account number",
    "overdue_amount": "the amount overdue",
    "overdue_days": "the days since the oldest unpaid due date",
    "oldest_due_on": "that due date",
}
# A step changes the status now or at the period end: a step has no date of its own to name.
STEP_OPTIONS = [o for o in ChangeOption if o != ChangeOption.SPECIFIC_DATE]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholder_problem(text: str) -> str | None:
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]
    if unknown:
        return (f"Unknown placeholder {{{unknown[0]}}}: use "
                + ", ".join("{" + name + "}" for name in PLACEHOLDERS) + ".")
    return None


def fill_placeholders(text: str, values: dict) -> str:
    """Each known {placeholder} replaced by its value; nothing else is read from the text (no format())."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _whole(value, *, label: str, low: int, high: int) -> tuple[int | None, str | None]:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None, f"{label} must be a whole number from {low:,} to {high:,}."
    if not low <= number <= high:
        return None, f"{label} must be from {low:,} to {high:,}."
    return number, None


def _pick(model, value):
    """A status type or reason given as an object or an id; None when absent or unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    try:
        return model.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return None


def step_problems(instance: CollectionStep | None, fields: dict) -> tuple[dict, dict[str, list[str]]]:
    """Check the fields given (a partial edit gives only some). Returns (cleaned values, {field: [message]})."""
    errors: dict[str, list[str]] = {}
    values = {f: getattr(instance, f) for f in STEP_FIELDS} if instance else {
        "name": "", "position": None, "days_overdue": None, "min_amount": 0, "action": "", "status_type": None,
        "reason": None, "option": "", "restore_to": None, "subject": "", "body": "",
    }

    def problem(field, message):
        errors.setdefault(field, []).append(message)

    if instance is None or "name" in fields:
        values["name"], message = name_problem(fields.get("name"), CollectionStep, instance.pk if instance else None,
                                               "collection step")
        if message:
            problem("name", message)
    if "position" in fields and fields["position"] not in (None, ""):
        values["position"], message = _whole(fields["position"], label="Position", low=1, high=1000)
        if message:
            problem("position", message)
    if instance is None or "days_overdue" in fields:
        values["days_overdue"], message = _whole(fields.get("days_overdue"), label="Days overdue", low=1,
                                                 high=MAX_DAYS)
        if message:
            problem("days_overdue", message)
    if "min_amount" in fields:
        try:
            values["min_amount"] = check_amount(fields["min_amount"] if fields["min_amount"] not in (None, "")
                                                else "0", field="min_amount", label="Overdue amount at least")
        except DomainError as err:
            problem("min_amount", err.message)
    if instance is None or "action" in fields:
        values["action"] = fields.get("action") or ""
        if values["action"] not in CollectionAction.values:
            problem("action", "Pick an action: " + " or ".join(CollectionAction.labels).lower() + ".")
    for field, model in (("status_type", AccountStatusType), ("restore_to", AccountStatusType),
                         ("reason", StatusReason)):
        if field in fields:
            values[field] = _pick(model, fields[field])
            if fields[field] not in (None, "") and values[field] is None:
                problem(field, "Unknown: it may have been deleted. Pick another.")
    if "option" in fields:
        values["option"] = fields["option"] or ""
    for field, label, limit in (("subject", "Subject", SUBJECT_MAX_CHARS), ("body", "Body", BODY_MAX_CHARS)):
        if field in fields:
            try:
                values[field] = check_text(fields[field] or "", field=field, label=label, max_chars=limit,
                                           multiline=field == "body")
            except DomainError as err:
                problem(field, err.message)

    if values["action"] == CollectionAction.STATUS_CHANGE:
        _status_change_problems(values, errors, problem)
    elif values["action"] == CollectionAction.REMINDER:
        for field, label in (("subject", "subject"), ("body", "text")):
            if field in errors:
                continue
            if not values[field]:
                problem(field, f"A reminder needs its e-mail's {label}.")
            elif message := placeholder_problem(values[field]):
                problem(field, message)
        values.update(status_type=None, reason=None, option="", restore_to=None)
    return values, errors


def _status_change_problems(values, errors, problem) -> None:
    to_type, reason, option = values["status_type"], values["reason"], values["option"]
    if to_type is None and "status_type" not in errors:
        problem("status_type", "Pick the status type this step changes the account to.")
    elif to_type is not None and to_type.backend_status == BackendStatus.PROSPECT:
        problem("status_type", "Prospect is only an initial status: a step cannot move an account back to it.")
    if option not in [o.value for o in STEP_OPTIONS]:
        problem("option", "Pick an option: " + ", ".join(o.label for o in STEP_OPTIONS) + ".")
    if reason is None and "reason" not in errors:
        problem("reason", "Pick a reason: the history and the customer's e-mail say why.")
    elif reason is not None and to_type is not None and not reason.applies_to(to_type.backend_status):
        problem("reason", f"“{reason.name}” does not apply to {to_type.get_backend_status_display().lower()} "
                          "statuses: pick another, or tick that status on the reason.")
    restore_to = values["restore_to"]
    if restore_to is not None and restore_to.backend_status in (BackendStatus.PROSPECT, BackendStatus.CANCELLED):
        problem("restore_to", "An account is restored to a status that is not prospect or cancelled.")
    values.update(subject="", body="")


def _next_position() -> int:
    return (CollectionStep.objects.aggregate(last=Max("position"))["last"] or 0) + 1


STEP_TAKEN = "This step could not be saved: its name was taken just now."


def _record(step) -> dict:
    values = snapshot(step, ("name", "position", "days_overdue", "min_amount", "action", "option", "subject"))
    for field in ("status_type", "reason", "restore_to"):
        related = getattr(step, field)
        values[field] = related.name if related else None
    return values


@transaction.atomic
def step_create(**fields) -> CollectionStep:
    check_fields("step_create", fields, STEP_FIELDS)

    def prepare(step):
        if step.position is None:
            step.position = _next_position()

    return model_create(CollectionStep, fields=fields, problems=step_problems, record=_record, taken=STEP_TAKEN,
                        prepare=prepare)


@transaction.atomic
def step_update(step: CollectionStep, **fields) -> CollectionStep:
    check_fields("step_update", fields, STEP_FIELDS)
    return model_update(step, fields=fields, problems=step_problems, record=_record, taken=STEP_TAKEN,
                        gone="This collection step no longer exists: another administrator deleted it.")[0]


def step_delete_refusal(step: CollectionStep) -> str | None:
    """A step an open episode ran, or whose move an open episode would restore, is kept until it ends."""
    open_runs = step.runs.filter(episode__ended_on__isnull=True).count()
    if open_runs:
        return (f"{open_runs:,} account{'s are' if open_runs != 1 else ' is'} in a collections episode that ran it; "
                "it can be deleted once they have paid (or their episode otherwise ends).")
    return None


def steps_delete(ids: list[int]) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the checked steps that no open episode uses; name each one kept and why."""
    return models_delete(CollectionStep, ids, refusal=step_delete_refusal, record=_record,
                         taken_up="an open episode ran it while it was being deleted.")


def setup_holds(obj) -> list[str]:
    """Why collections hold a status type or a reason (statuses.usage): a step names it, or an episode keeps
    the type an account had before it, to restore it."""
    if isinstance(obj, StatusReason):
        named = CollectionStep.objects.filter(reason=obj).exists()
        return ["collection steps use it: change them first"] if named else []
    reasons = []
    if CollectionStep.objects.filter(Q(status_type=obj) | Q(restore_to=obj)).exists():
        reasons.append("collection steps use it")
    if CollectionEpisode.objects.filter(type_before=obj).exists():
        reasons.append("collection episodes use it")
    return reasons


def steps_in_order():
    return CollectionStep.objects.select_related("status_type", "reason", "restore_to").order_by(
        "position", "days_overdue", "id")

