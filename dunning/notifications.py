"""The reminder e-mail a collection step sends (SPEC §11): written by the pass as an outbox message in the
step run's transaction, with its text filled in then, and sent once after commit (or by the relay)."""

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import Account
from engage.outbox import handler

from .passes import REMINDER


@handler(REMINDER)
def send_reminder(account_id: int, subject: str, body: str) -> bool:
    email = Account.objects.filter(pk=account_id).values_list("email", flat=True).first()
    if not email:
        return False
    send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[email])
    return True
