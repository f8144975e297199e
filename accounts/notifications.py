"""E-mail to the account's contact when a change is applied; prospects get it too (SPEC §2)."""

from django.conf import settings
from django.core.mail import send_mail

from .models import StatusChange, StatusChangeState


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
