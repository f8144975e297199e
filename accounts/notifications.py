"""The status e-mail to the account's contact when a change is applied; prospects get it too (SPEC §2).
Its task lives here too, so the engine can queue it without importing accounts.tasks (which imports
the engine)."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from statuses.rules import StatusChangeState

from .models import StatusChange

logger = logging.getLogger(__name__)


def send_status_change_email(change_id: int) -> bool:
    change = (
        StatusChange.objects.select_related("account", "from_type", "to_type")
        .filter(pk=change_id, state=StatusChangeState.APPLIED)
        .first()
    )
    if change is None or not change.account.email:
        return False
    account = change.account
    send_mail(
        subject=f"Your account {account.number} is now {change.to_type.name}",
        message=(
            f"Hello {account.name},\n\n"
            f"the status of your account {account.number} changed from "
            f"{change.from_type.name if change.from_type else '—'} to {change.to_type.name} "
            f"on {change.effective_date:%Y-%m-%d}.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[account.email],
    )
    return True


# The name it has always had on the broker, so messages queued before an upgrade still run.
@shared_task(
    name="accounts.tasks.send_status_change_email_task",
    acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5,
)
def send_status_change_email_task(change_id: int):
    send_status_change_email(change_id)


def queue_status_change_email(change_id: int) -> None:
    """Called on commit of an applied change."""
    try:
        send_status_change_email_task.delay(change_id)
    except Exception:  # the broker is down: the change stands; the e-mail is what is lost
        logger.warning("Could not queue the e-mail for status change %s.", change_id)
