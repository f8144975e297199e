"""One day at a time, across every pass (SPEC §6): on each business day the changes due that day are applied,
then the periods starting that day are billed, then collections runs for that day — and whatever was missed
(beat stopped for days, a worker down, passes woken or run by hand in any order), it is replayed in that
order, day by day, so the result equals that of the daily runs.

The passes of the day are those registered with a `day_order` (engage/schedule.py). A pass asked to run for
day D (by beat or by hand) first finishes every earlier day that some pass of the day has not done, every pass
in order, then runs the passes before it for D, then itself. Where each pass stands is its last successful run
(PassRun). A pass that never ran starts on the day it is first asked for. A day before a pass's last success is
refused: a pass never goes back."""

from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta

from django.db import connection
from django.db.models import Max

from .errors import DomainError
from .models import PassRun
from .schedule import day_passes, scheduled

REPLAY_MAX_DAYS = 92  # after a longer outage the passes replay this many days, not the whole gap
_LOCK = 0x656E6761  # the advisory lock that serialises catching up ("enga")


def done_through() -> dict[str, date | None]:
    """Each pass of the day: the last day it succeeded for (None: it never did). One query."""
    names = [p.name for p in day_passes()]
    last = dict(PassRun.objects.filter(name__in=names, succeeded=True).values("name").annotate(last=Max("as_of"))
                .values_list("name", "last"))
    return {name: last.get(name) for name in names}


class PassGoesBack(DomainError):
    """A pass asked for a day before the last one it succeeded for."""


def _first_day(done: dict[str, date | None], as_of: date) -> date:
    ran = [day for day in done.values() if day is not None]
    start = min((day + timedelta(days=1) for day in ran), default=as_of)
    return min(max(start, as_of - timedelta(days=REPLAY_MAX_DAYS - 1)), as_of)


def behind(name: str, as_of: date) -> list[tuple[date, str]]:
    """What must run, in order, before the pass `name` may run for `as_of`: (day, pass) pairs — every pass of
    every earlier day not done yet, then the passes before `name` on `as_of`. Raises PassGoesBack."""
    this, passes, done = scheduled(name), day_passes(), done_through()
    mine = done.get(name)
    if mine is not None and as_of < mine:
        raise PassGoesBack(f"The {this.label.lower()} last succeeded for {mine:%Y-%m-%d}; it never runs again for an "
                           f"earlier day ({as_of:%Y-%m-%d}). Give {mine:%Y-%m-%d} or later.", field="date")
    todo = []
    day = _first_day(done, as_of)
    while day <= as_of:
        for p in passes:
            if day == as_of and p.day_order >= this.day_order:
                break
            last = done[p.name]
            if last is None and day < as_of:
                continue  # a pass that never ran starts on the day it is first asked for
            if last is None or last < day:
                todo.append((day, p.name))
        day += timedelta(days=1)
    return todo


@contextmanager
def _catching_up(wait: bool):
    """One catch-up at a time (a PostgreSQL advisory lock; SQLite has one writer anyway). Yields whether this
    run holds it: a second one waits for the first (`wait`), or gives up at once."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)" if wait else "SELECT pg_try_advisory_lock(%s)", [_LOCK])
        held = wait or cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])


def scheduled_run(name: str, as_of: date, *, run: Callable[..., dict] | None = None) -> dict:
    """A pass as beat runs it: it does not wait for another run that is catching up (the next tick comes), and
    a day before its last success is answered, not raised (a task redelivered late)."""
    try:
        return run_pass_for(name, as_of, run=run, wait=False)
    except PassGoesBack as refused:
        return {"refused": refused.message}


def run_pass_for(name: str, as_of: date, *, run: Callable[..., dict] | None = None, wait: bool = True) -> dict:
    """Run the pass `name` for `as_of` the way the business day orders it: what is behind first (each missed
    day, every pass in order; then the passes before it on `as_of`), then the pass itself — `run(as_of=…)`
    when given (the billing pass hands its parts to workers), else its registered run. Returns
    {"caught_up": [{day, pass, summary}, …], name: its summary}; {"busy": …} when another run is catching up
    and `wait` is false (beat's next run comes). Raises PassGoesBack for a day before the pass's last success."""
    caught_up = []
    if behind(name, as_of):
        runs = {p.name: p.run for p in day_passes()}
        with _catching_up(wait) as held:
            if not held:
                return {"busy": "another run is catching up the days missed; this one left it to it"}
            for day, other in behind(name, as_of):  # again, under the lock: another run may have done them
                caught_up.append({"day": day.isoformat(), "pass": other, "summary": runs[other](as_of=day)})
    own = run or scheduled(name).run
    return {"caught_up": caught_up, name: own(as_of=as_of)}
