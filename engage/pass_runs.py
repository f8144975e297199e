"""Record each run of a scheduled pass, so scheduler health can show when it last succeeded."""

from contextlib import contextmanager
from datetime import date, timedelta

from django.db.models import Max
from django.utils import timezone

from .limits import DETAIL_MAX_CHARS
from .models import PassRun


@contextmanager
def recorded_pass(name: str, as_of: date):
    """Yields a PassRun; the pass sets processed/failed/detail; success or the error is saved at the end."""
    run = PassRun.objects.create(name=name, as_of=as_of)
    try:
        yield run
    except BaseException as exc:
        run.succeeded = False
        run.detail = (run.detail + f"\n{type(exc).__name__}: {exc}").strip()[:DETAIL_MAX_CHARS]
        run.finished_at = timezone.now()
        run.save()
        raise
    run.succeeded = run.failed == 0
    run.finished_at = timezone.now()
    run.save()


def prune_pass_runs(*, keep_days: int = 30) -> int:
    """Drop pass records older than keep_days (the minute pass alone writes 1,440 a day), keeping the
    latest successful run of each pass so health can still say when it last worked."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    keep = PassRun.objects.filter(succeeded=True).values("name").annotate(last=Max("id")).values_list("last", flat=True)
    deleted, _ = PassRun.objects.filter(started_at__lt=cutoff).exclude(pk__in=list(keep)).delete()
    return deleted
