"""Record each run of a scheduled pass, so scheduler health can show when it last succeeded, and how far
a run that was killed got (SPEC §6: a killed pass shows as *interrupted*)."""

from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from .audit import json_safe
from .limits import DETAIL_MAX_CHARS
from .models import PassRun

# A pass that has not reported progress for this long while unfinished was killed (a chunk takes
# seconds; a run is never silent this long while alive).
HEARTBEAT_STALE = timedelta(minutes=10)

# Who wants to hear of progress (a management command prints it); None in workers.
_progress: ContextVar[Callable[[PassRun], None] | None] = ContextVar("pass_progress", default=None)


@contextmanager
def reporting_progress(callback: Callable[[PassRun], None]):
    """Call `callback(run)` each time a pass run inside this block reports progress."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def advance(run: PassRun, processed: int) -> None:
    """After a chunk: save how far the run got (one UPDATE, outside the chunk's transaction) and tell
    whoever listens."""
    run.processed = processed
    run.heartbeat_at = timezone.now()
    PassRun.objects.filter(pk=run.pk).update(processed=run.processed, heartbeat_at=run.heartbeat_at)
    callback = _progress.get()
    if callback is not None:
        callback(run)


def report(run: PassRun, *, processed: int) -> None:
    """After a chunk of a pass that may run in parts (several workers, one run): add to how far the run got
    (one UPDATE that adds, so parts never overwrite each other) and tell whoever listens."""
    run.processed += processed
    run.heartbeat_at = timezone.now()
    PassRun.objects.filter(pk=run.pk).update(processed=F("processed") + processed, heartbeat_at=run.heartbeat_at)
    callback = _progress.get()
    if callback is not None:
        callback(run)


@contextmanager
def recorded_pass(name: str, as_of: date):
    """Yields a PassRun; the pass sets processed/failed/detail (and calls `advance` per chunk); success or
    the error is saved at the end. A run killed midway keeps `finished_at` empty: health reads that."""
    run = PassRun.objects.create(name=name, as_of=as_of, heartbeat_at=timezone.now())
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


def start_parts(name: str, as_of: date, parts: int) -> PassRun:
    """A run that several workers share, each with a part (finish_part ends it)."""
    return PassRun.objects.create(name=name, as_of=as_of, heartbeat_at=timezone.now(), parts=parts)


def finish_part(run_id: int, *, failed: int = 0, detail: str = "") -> PassRun:
    """A part is done: count it (row-locked, so two parts finishing at once are both counted); the last
    part finishes the run: succeeded when no part recorded a failure."""
    with transaction.atomic():
        run = PassRun.objects.select_for_update().get(pk=run_id)
        run.parts_done += 1
        run.failed += failed
        run.heartbeat_at = timezone.now()
        if detail:
            run.detail = (run.detail + "\n" + detail).strip()[:DETAIL_MAX_CHARS]
        if run.parts_done >= run.parts and run.finished_at is None:
            run.finished_at = run.heartbeat_at
            run.succeeded = run.failed == 0
        run.save(update_fields=["parts_done", "failed", "heartbeat_at", "detail", "finished_at", "succeeded"])
    return run


@dataclass
class PassSummary:
    """What a run of a pass did, one shape for every pass: the counts it declares as fields, the errors of the
    accounts it could not do, a JSON-safe `as_dict()` (a Celery result, a command's answer: each field, a
    Counter's counts flattened, the number of errors) and one line in words, `words()`, which `str()` and the
    run's `detail()` give. A field with metadata {"report": False} stays out of `as_dict()`."""

    errors: list[str] = field(default_factory=list, kw_only=True)

    def words(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.words()

    def as_dict(self) -> dict:
        result = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "errors" or not f.metadata.get("report", True):
                continue
            if isinstance(value, Counter):
                result.update(sorted(value.items()))
            else:
                result[f.metadata.get("key", f.name)] = json_safe(value)
        return {**result, "errors": len(self.errors)}


DETAIL_MAX_ERRORS = 50


def detail(summary, errors: list[str]) -> str:
    """A run's detail: its summary line, then its first errors (and how many more)."""
    shown = errors[:DETAIL_MAX_ERRORS]
    if len(errors) > DETAIL_MAX_ERRORS:
        shown.append(f"… and {len(errors) - DETAIL_MAX_ERRORS} more")
    return "\n".join([str(summary), *shown])[:DETAIL_MAX_CHARS]


def prune_pass_runs(*, keep_days: int = 30) -> int:
    """Drop pass records older than keep_days (the minute pass alone writes 1,440 a day), keeping the
    latest successful run of each pass so health can still say when it last worked."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    keep = PassRun.objects.filter(succeeded=True).values("name").annotate(last=Max("id")).values_list("last", flat=True)
    deleted, _ = PassRun.objects.filter(started_at__lt=cutoff).exclude(pk__in=list(keep)).delete()
    return deleted
