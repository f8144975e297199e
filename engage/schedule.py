"""The registry of scheduled passes: each app declares its own from its AppConfig.ready() (`register_pass`),
beat runs what is registered (engage/celery.py) and scheduler health checks it (reporting/health.py), so the
schedule shown, the schedule run and the lateness rule cannot drift, and the ground names no app."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery.schedules import crontab
from django.apps import apps


@dataclass(frozen=True)
class ScheduledPass:
    entry: str  # beat's name for it
    task: str
    when: float | crontab  # seconds between runs, or a crontab
    schedule: str  # `when` in words
    expires: int  # seconds: a run not started by then is dropped (the next one comes)
    name: str | None = None  # the PassRun it records; scheduler health watches those
    label: str = ""  # the pass in words ("Billing pass"); the entry when empty
    limit: timedelta | None = None  # late when no success for this long: the interval plus slack
    found: tuple[str, str] | None = None  # what PassRun.found counts, "{n} …" (one, many): warned while > 0
    # A pass of the business day (SPEC §6: due changes, then billing, then collections): its place in the
    # day's order, and what runs it for one day. engage/business_day.py replays missed days in that order.
    day_order: int | None = None
    run: Callable[..., dict] | None = None  # run(as_of=date) -> summary
    # What a run for a day after today would do ahead of time, in words, or "" (a command asks before it):
    # ahead(today, as_of) -> "apply 800 pending status changes dated after today".
    ahead: Callable[..., str] | None = None

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.entry)


_SCHEDULE: dict[str, ScheduledPass] = {}


def register_pass(scheduled_pass: ScheduledPass) -> None:
    """Called from an app's AppConfig.ready(): beat runs it, health watches it when it records runs."""
    known = _SCHEDULE.setdefault(scheduled_pass.entry, scheduled_pass)
    if known != scheduled_pass:
        raise ValueError(f"Beat entry {scheduled_pass.entry!r} is registered twice")


def schedule() -> list[ScheduledPass]:
    """Every registered entry, in the order the apps registered them (the order of INSTALLED_APPS)."""
    apps.check_apps_ready()
    return list(_SCHEDULE.values())


def beat_schedule() -> dict:
    return {p.entry: {"task": p.task, "schedule": p.when, "options": {"expires": p.expires}} for p in schedule()}


def watched_passes() -> list[ScheduledPass]:
    """The passes scheduler health checks, in the order it shows them."""
    return [p for p in schedule() if p.name]


def scheduled(name: str) -> ScheduledPass:
    return next(p for p in schedule() if p.name == name)


def day_passes() -> list[ScheduledPass]:
    """The passes of the business day (SPEC §6: due changes, billing, collections), in their order."""
    return sorted((p for p in schedule() if p.day_order is not None), key=lambda p: p.day_order)


def passes_up_to(name: str) -> list[ScheduledPass]:
    """The passes of the business day up to and including `name`, in their order."""
    this = scheduled(name)
    return [p for p in day_passes() if p.day_order <= this.day_order]


def pass_label(name: str) -> str:
    """A recorded pass's name in words; the name itself for one no longer registered."""
    return next((p.label for p in schedule() if p.name == name), name)
