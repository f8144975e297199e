"""Record each run of a scheduled pass, so scheduler health can show when it last succeeded."""

from contextlib import contextmanager
from datetime import date

from django.utils import timezone

from .models import PassRun


@contextmanager
def recorded_pass(name: str, as_of: date):
    """Yields a PassRun; the pass sets processed/failed/detail; success or the error is saved at the end."""
    run = PassRun.objects.create(name=name, as_of=as_of)
    try:
        yield run
    except BaseException as exc:
        run.succeeded = False
        run.detail = (run.detail + f"\n{type(exc).__name__}: {exc}").strip()[:5000]
        run.finished_at = timezone.now()
        run.save()
        raise
    run.succeeded = run.failed == 0
    run.finished_at = timezone.now()
    run.save()
