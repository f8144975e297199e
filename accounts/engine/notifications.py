"""The status e-mail to the account's contact when a change is applied; prospects get it too (SPEC §2).

An outbox message written in the change's transaction (engage/outbox.py): it is sent once, after commit,
or by the relay when the broker was down then, never lost."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from engage.outbox import handler, outbox_add_many
from statuses.rules import StatusChangeState

from ..models import StatusChange


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


EMAIL = "accounts.status_email"


@handler(EMAIL)
def _send(change_id: int) -> None:
    send_status_change_email(change_id)


def queue_status_change_emails(change_ids: list[int]) -> None:
    """In the transaction of the applied changes: one message each."""
    outbox_add_many(EMAIL, [{"change_id": change_id} for change_id in change_ids])


# Messages queued under this name before the outbox (one release back) are still sent.
@shared_task(name="accounts.tasks.send_status_change_email_task", acks_late=True)
def send_status_change_email_task(change_id: int):
    send_status_change_email(change_id)
