"""The audit log's writer (SPEC §1). Services call `audit_record` inside their own transaction, so an
entry commits or rolls back with the change it records. Not model signals: the engine writes in bulk
(bulk_create, update()), which signals never see.

Who: the request a middleware remembers (its user is read at write time, so DRF's token authentication,
which sets the request's user when it authenticates, is covered) or, outside a request (Celery tasks,
management commands), "system" unless `audit_actor(name)` names the job."""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from ipaddress import ip_address

from django.db import models

from .client_address import client_address
from .copy_rows import build, insert_objects
from .limits import ACTOR_NAME_MAX_CHARS
from .models import AuditEntry

SYSTEM = "system"

# What apps record, registered by each from its AppConfig.ready() (register_audit): the actions with their
# labels, and the object types (the verbose names of the models they audit) that the page filters by.
_ACTIONS: dict[str, str] = {}
_OBJECT_TYPES: list[str] = []


def user_of(actor):
    """The user to record as having made a row (created_by, executed_by): None for the scheduler, a job, or
    anyone not signed in."""
    return actor if getattr(actor, "is_authenticated", False) else None


def register_audit(*, actions: type[models.TextChoices] | None = None, audited=()) -> None:
    """An app's audit actions (a TextChoices) and what its services record: models, or object type names."""
    for value, label in (actions.choices if actions else []):
        if _ACTIONS.setdefault(value, label) != label:
            raise ValueError(f"Audit action {value!r} is registered twice with different labels")
    for name in [item if isinstance(item, str) else str(item._meta.verbose_name) for item in audited]:
        if name not in _OBJECT_TYPES:
            _OBJECT_TYPES.append(name)


def action_label(value: str) -> str:
    return _ACTIONS.get(value, value)


def action_choices() -> list[tuple[str, str]]:
    """Every registered action, in the order the apps registered them (the audit page's filter)."""
    return list(_ACTIONS.items())


def object_type_choices() -> list[tuple[str, str]]:
    return [(name, name.capitalize()) for name in _OBJECT_TYPES]

_request: ContextVar = ContextVar("audit_request", default=None)
_actor_name: ContextVar = ContextVar("audit_actor_name", default=None)


class AuditActorMiddleware:
    """Remembers the request for the entries its services write; after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@contextmanager
def audit_actor(name: str, *, user_id: int | None = None):
    """Entries written inside are by `name` (a task or command), with no user, even inside a request; or, with
    `user_id`, by that user, `name` being their username (a job doing what a person asked: their bulk change)."""
    token = _actor_name.set((user_id, name[:ACTOR_NAME_MAX_CHARS]))
    try:
        yield
    finally:
        _actor_name.reset(token)


def _actor() -> tuple[int | None, str, str | None]:
    """(user id, name, address) of whoever is writing now."""
    named = _actor_name.get()
    if named is not None:
        return *named, None
    request = _request.get()
    if request is None:
        return None, SYSTEM, None
    user = getattr(request, "user", None)
    address = _valid_address(client_address(request))
    if user is not None and user.is_authenticated:
        return user.pk, user.get_username()[:ACTOR_NAME_MAX_CHARS], address
    return None, "anonymous", address


def _valid_address(address) -> str | None:
    """An address the column takes (an inet on PostgreSQL): a forwarded header may hold anything."""
    try:
        return str(ip_address((address or "").strip()))
    except ValueError:
        return None


def json_safe(value):
    """A value as JSON keeps it: Decimal as its exact string, dates as ISO, a model instance as its pk."""
    if isinstance(value, Enum):  # TextChoices: the stored value
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def snapshot(obj, fields) -> dict:
    """{field: JSON-safe value} of the fields named (a foreign key's field gives the related row's pk)."""
    return {f: json_safe(getattr(obj, f)) for f in fields}


_ABSENT = object()


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """The two snapshots cut down to the fields whose values differ (a field on one side only differs)."""
    keys = [k for k in after if before.get(k, _ABSENT) != after[k]] + [k for k in before if k not in after]
    return {k: before[k] for k in keys if k in before}, {k: after[k] for k in keys if k in after}


def _entry(*, action, obj, object_type, object_id, object_repr, account_id, before, after, who,
           json_ready: bool = False) -> AuditEntry:
    if action not in _ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}")
    if obj is not None:
        object_type = object_type or str(obj._meta.verbose_name)
        object_id = obj.pk if object_id is None else object_id
        object_repr = str(obj) if object_repr is None else object_repr
        if account_id is None:
            account_id = getattr(obj, "account_id", None)
    actor_id, actor_name, address = who
    return build(AuditEntry, {
        "actor_id": actor_id, "actor_name": actor_name, "address": address, "action": action,
        "object_type": (object_type or "")[:64], "object_id": object_id, "object_repr": (object_repr or "")[:200],
        "account_id": account_id, "before": before if json_ready else json_safe(before),
        "after": after if json_ready else json_safe(after),
    })


def audit_record(*, action, obj=None, object_type=None, object_id=None, object_repr=None, account_id=None,
                 before=None, after=None) -> AuditEntry:
    """Write one entry in the caller's transaction. With `obj`, the object's type, id, text and account
    (its `account_id`) are taken from it unless given."""
    entry = _entry(action=action, obj=obj, object_type=object_type, object_id=object_id, object_repr=object_repr,
                   account_id=account_id, before=before, after=after, who=_actor())
    entry.save()
    return entry


def audit_record_many(*, action, objects, after=None, before=None, obj=None, object_repr=None,
                      json_ready: bool = False, **common) -> list[AuditEntry]:
    """One entry per item in one INSERT (a batch write). `before`/`after`/`object_repr` are callables of the
    item; `obj` maps an item to the model instance it records (the item itself by default). `json_ready`:
    before and after give only str, int, bool, None, lists and dicts already (json_safe is skipped: a batch
    of a hundred thousand entries spent a sixteenth of its time in it)."""
    who = _actor()
    entries = [
        _entry(action=action, obj=obj(item) if obj else item, object_type=common.get("object_type"), object_id=None,
               object_repr=object_repr(item) if object_repr else None, account_id=common.get("account_id"),
               before=before(item) if before else None, after=after(item) if after else None, who=who,
               json_ready=json_ready)
        for item in objects
    ]
    return insert_objects(AuditEntry, entries)
