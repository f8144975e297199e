"""The outbox (SPEC §6): every side effect of a request is a row written in its transaction, handed to
Celery after commit, relayed by beat when that failed, and done exactly once by its consumer.

    outbox_add("accounts.status_email", change_id=42)       # in the request's transaction

Apps register what a kind does with `@handler("accounts.status_email")`; the handler runs inside the
consumer's transaction, which holds the message's row lock and marks it done on success, so a message
handed over twice (relay and after-commit, or a redelivery) runs once. A handler that raises leaves the
message open with its error, and the relay hands it over again after RETRY_AFTER.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import broker
from .copy_rows import build, insert_objects
from .limits import ERROR_MAX_CHARS
from .models import OutboxMessage

logger = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[..., object]] = {}
# Not handed over this long after it was written: the after-commit hand-over failed (or the process died).
HANDOVER_GRACE = timedelta(seconds=30)
# Handed over, not done this long after: lost with a worker or the broker, or the handler failed.
RETRY_AFTER = timedelta(minutes=5)
RELAY_BATCH = 500


def handler(kind: str):
    def register(func):
        HANDLERS[kind] = func
        return func

    return register


def outbox_add(kind: str, **payload) -> OutboxMessage:
    """Write the message in the caller's transaction; after commit hand it to a worker (never raises)."""
    message = OutboxMessage.objects.create(kind=kind, payload=payload)
    transaction.on_commit(lambda: hand_over([message.pk]))
    return message


def outbox_add_many(kind: str, payloads: list[dict]) -> list[OutboxMessage]:
    """outbox_add for many messages: one INSERT, one hand-over after commit."""
    if not payloads:
        return []
    messages = insert_objects(
        OutboxMessage, [build(OutboxMessage, {"kind": kind, "payload": payload}) for payload in payloads]
    )
    ids = [message.pk for message in messages]
    transaction.on_commit(lambda: hand_over(ids))
    return messages


HANDOVER_GROUP = 500  # messages per broker message when many are handed over at once


def hand_over(message_ids: list[int]) -> int:
    """Give messages to the broker, a group per broker message; stops at the first failure (the broker is
    down). Returns how many."""
    sent = []
    for i in range(0, len(message_ids), HANDOVER_GROUP):
        group = list(message_ids[i : i + HANDOVER_GROUP])
        task, arg = (deliver_task, group[0]) if len(group) == 1 else (deliver_many_task, group)
        if not broker.send(task, arg):
            break
        sent += group
    if sent:
        OutboxMessage.objects.filter(pk__any=sent).update(handed_at=timezone.now(), handovers=F("handovers") + 1)
    return len(sent)


def deliver(message_id: int) -> bool:
    """Do one message's work once: False when it is done already or another worker has it."""
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, done_at__isnull=True)
                .first()
            )
            if message is None:
                return False
            HANDLERS[message.kind](**message.payload)
            message.done_at = timezone.now()
            message.save(update_fields=["done_at"])
            return True
    except Exception as exc:
        logger.exception("Outbox message %s failed; the relay hands it over again later", message_id)
        OutboxMessage.objects.filter(pk=message_id).update(
            failures=F("failures") + 1, last_error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
        )
        return False


def waiting(now: datetime):
    """Open messages the relay should hand over now."""
    return OutboxMessage.objects.filter(done_at__isnull=True).filter(
        Q(handed_at__isnull=True, created_at__lte=now - HANDOVER_GRACE) | Q(handed_at__lte=now - RETRY_AFTER)
    )


def relay(*, now: datetime | None = None) -> int:
    """Hand over what is waiting, oldest first, until the broker fails; returns how many were sent."""
    now = now or timezone.now()
    broker.reset()  # the relay always tries: it is how the broker's return is noticed
    total = 0
    after = 0
    while True:
        ids = list(waiting(now).filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:RELAY_BATCH])
        if not ids:
            return total
        sent = hand_over(ids)
        total += sent
        if sent < len(ids):
            return total
        after = ids[-1]


@shared_task(name="engage.outbox.deliver", acks_late=True)
def deliver_task(message_id: int):
    return deliver(message_id)


@shared_task(name="engage.outbox.deliver_many", acks_late=True)
def deliver_many_task(message_ids: list[int]):
    return sum(deliver(message_id) for message_id in message_ids)


@shared_task(name="engage.outbox.relay", acks_late=True)
def relay_task():
    return relay()
