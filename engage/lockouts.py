"""Sign-in lock-outs (django-axes, SPEC §1): which user name and address pairs are locked out now, and an
Administrator's unlock. Axes itself counts the failures and refuses the sign-ins."""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .errors import DomainError
from .models import AuditAction


def locked_sign_ins():
    """Pairs locked out now (failures at the limit within the lock-out time), newest first."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
    ).order_by("-attempt_time")[:200]


@transaction.atomic
def sign_in_unlock(*, attempt_id: int | None) -> AccessAttempt:
    """Forget the failures of one user name and address pair: its next sign-in is judged afresh."""
    attempt = AccessAttempt.objects.filter(pk=attempt_id).first() if attempt_id is not None else None
    if attempt is None:
        raise DomainError("That lock-out has already ended or been lifted.")
    reset(ip=attempt.ip_address, username=attempt.username)
    audit_record(
        action=AuditAction.SIGN_IN_UNLOCKED, object_type="sign-in lock-out", object_id=attempt.pk,
        object_repr=f"{attempt.username} from {attempt.ip_address}",
        before={"failures": attempt.failures_since_start}, after={"failures": 0},
    )
    return attempt
