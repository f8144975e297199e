"""Scheduler health: is beat running every pass, and has anything been left behind?

Read on every signed-in page (the sidebar's warnings), so every query here is bounded: the latest
runs come from one UNION of LIMIT 1 lookups on PassRun's (name, -started_at) index, and the backlogs
are counted with a cap (`SELECT COUNT(*) FROM (… LIMIT 1001)`), never over the accounts table.

When is a pass "late"? When its last successful run finished longer ago than its schedule plus slack
(the `limit` its app registered with engage/schedule.py). A pass that has never succeeded is measured from
the first account's creation: a fresh install without accounts shows no warning, but once accounts
have existed longer than a pass's limit and it still never succeeded, beat (or the worker) is not
running and we say so.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db.models import Subquery, Value
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import Account, StatusChange
from billing.models import BillingFailure
from billing.passes import PASS_NAME as BILLING_PASS
from engage.models import PassRun
from engage.pass_runs import HEARTBEAT_STALE
from engage.schedule import ScheduledPass, watched_passes
from provisioning.models import JobState, ProvisioningJob
from statuses.rules import StatusChangeState

CAP = 1000  # backlogs are counted up to this; the page says "1,000+" beyond
DETAIL_ROWS = 20
NBSP = "\xa0"  # timesince's
_RUN_FIELDS = (
    "name", "started_at", "finished_at", "heartbeat_at", "succeeded", "processed", "failed", "found", "detail"
)


@dataclass(frozen=True)
class PassHealth:
    scheduled: ScheduledPass  # its entry in engage/schedule.py: name, label, schedule, limit
    last_success: dict | None  # a PassRun as a dict of _RUN_FIELDS
    last_run: dict | None  # the latest finished run, successful or not
    warning: str | None
    checked_at: datetime
    interrupted: dict | None = None  # the latest run, when it stopped without finishing (killed)
    late: bool = False  # no success within its schedule plus slack

    @property
    def name(self) -> str:
        return self.scheduled.name

    @property
    def label(self) -> str:
        return self.scheduled.label

    @property
    def schedule(self) -> str:
        return self.scheduled.schedule

    @property
    def ok(self) -> bool:
        return self.warning is None

    @property
    def limit_text(self) -> str:
        return duration(self.checked_at - self.scheduled.limit, self.checked_at)

    @property
    def interrupted_text(self) -> str:
        """"started 2 hours ago, stopped after 1,500 done (last heard of 2 hours ago)"."""
        run = self.interrupted
        if not run:
            return ""
        return (
            f"started {ago(run['started_at'], self.checked_at)}, stopped after {run['processed']:,} done "
            f"(last heard of {ago(run['heartbeat_at'] or run['started_at'], self.checked_at)})"
        )

    @property
    def last_success_ago(self) -> str:
        return ago(self.last_success["finished_at"], self.checked_at) if self.last_success else ""


@dataclass(frozen=True)
class SchedulerHealth:
    now: datetime
    today: date
    passes: list[PassHealth]
    overdue_changes: int
    billing_failed_accounts: int
    billing_failures_since: datetime | None
    failed_jobs: int
    warnings: list[str] = field(default_factory=list)

    @property
    def overdue_changes_label(self) -> str:
        return capped(self.overdue_changes)

    @property
    def billing_failed_accounts_label(self) -> str:
        return capped(self.billing_failed_accounts)

    @property
    def failed_jobs_label(self) -> str:
        return capped(self.failed_jobs)


def capped(n: int) -> str:
    return f"{CAP:,}+" if n > CAP else f"{n:,}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{capped(n)} {one if n == 1 else many}"


def duration(since: datetime, until: datetime) -> str:
    """"1 day, 3 hours": timesince's words with plain spaces (the warnings are plain text)."""
    return timesince(since, until).replace(NBSP, " ")


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{duration(moment, now)} ago"


def _latest_runs() -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """({name: latest successful run}, {name: latest finished run}, {name: latest run}) in one query."""
    parts = []
    for sched in watched_passes():
        base = PassRun.objects.filter(name=sched.name).order_by("-started_at")
        for kind, latest in (
            ("success", base.filter(succeeded=True)), ("finished", base.exclude(finished_at=None)), ("latest", base)
        ):
            # The LIMIT 1 sits in a scalar subquery: SQLite refuses LIMIT in the parts of a UNION itself.
            parts.append(
                PassRun.objects.filter(pk=Subquery(latest.values("pk")[:1]))
                .annotate(kind=Value(kind))
                .values(*_RUN_FIELDS, "kind")
                .order_by()
            )
    found = {"success": {}, "finished": {}, "latest": {}}
    for row in parts[0].union(*parts[1:], all=True):
        found[row.pop("kind")][row["name"]] = row
    return found["success"], found["finished"], found["latest"]


def _interrupted(latest: dict | None, now: datetime) -> dict | None:
    """The latest run, when it never finished and has been silent too long: its worker was killed (or
    the machine went down) midway. The next run finishes its work; until then health says so."""
    if latest is None or latest["finished_at"] is not None:
        return None
    if now - (latest["heartbeat_at"] or latest["started_at"]) <= HEARTBEAT_STALE:
        return None  # still running
    return latest


def _pass_warning(sched: ScheduledPass, last_success, last_run, now, install_start) -> str | None:
    reference = last_success["finished_at"] if last_success else install_start
    if reference is None or now - reference <= sched.limit:
        return None
    label = sched.label
    failed = " (last run failed)" if last_run and not last_run["succeeded"] else ""
    if last_success:
        return f"{label}: no successful run for {duration(reference, now)}{failed}"
    if last_run:
        return f"{label}: has never succeeded{failed}"
    return f"{label}: has never run"


def _pending_overdue(today: date):
    return StatusChange.objects.filter(state=StatusChangeState.PENDING, effective_date__lt=today)


def _billing_failures(since: datetime | None):
    # "Whose last billing failed": failures recorded by the latest billing run (or since it started).
    qs = BillingFailure.objects.filter(resolved=False)
    return qs.filter(created_at__gte=since) if since else qs


def _failed_jobs():
    return ProvisioningJob.objects.filter(state=JobState.FAILED)


def scheduler_health(*, now: datetime | None = None) -> SchedulerHealth:
    """Every pass's last success and warning, and the backlogs; a bounded number of queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    successes, finished, latest = _latest_runs()
    install_start = None
    if len(successes) < len(watched_passes()):
        install_start = Account.objects.order_by("pk").values_list("created_at", flat=True).first()
    passes = []
    for sched in watched_passes():
        success, last = successes.get(sched.name), finished.get(sched.name)
        warning = _pass_warning(sched, success, last, now, install_start)
        interrupted = _interrupted(latest.get(sched.name), now)
        health = PassHealth(sched, success, last, warning, now, interrupted, late=warning is not None)
        if interrupted:
            prefix = f"{warning}; the last run was" if warning else f"{sched.label}: the last run was"
            health = replace(health, warning=f"{prefix} interrupted ({health.interrupted_text})")
        if sched.found and last and last["found"]:
            one, many = sched.found
            found = f"{sched.label}: " + (one if last["found"] == 1 else many).format(n=f"{last['found']:,}")
            health = replace(health, warning=f"{health.warning}; {found}" if health.warning else found)
        passes.append(health)

    billing_last = finished.get(BILLING_PASS)
    since = billing_last["started_at"] if billing_last else None
    overdue = _pending_overdue(today).values("pk")[: CAP + 1].count()
    # order_by(): the model's ordering would put "id" in the SELECT and undo the DISTINCT.
    billing_failed = _billing_failures(since).order_by().values("account_id").distinct()[: CAP + 1].count()
    failed_jobs = _failed_jobs().values("pk")[: CAP + 1].count()

    warnings = [p.warning for p in passes if p.warning]
    if overdue:
        warnings.append(
            f"{_plural(overdue, 'pending status change is', 'pending status changes are')} overdue"
        )
    if billing_failed:
        warnings.append(f"{_plural(billing_failed, 'account', 'accounts')} failed in the last billing run")
    if failed_jobs:
        warnings.append(f"{_plural(failed_jobs, 'provisioning job', 'provisioning jobs')} failed (retrying)")
    return SchedulerHealth(now, today, passes, overdue, billing_failed, since, failed_jobs, warnings)


def health_details(health: SchedulerHealth, *, limit: int = DETAIL_ROWS) -> dict:
    """The first rows behind each backlog, for the statistics page (three bounded queries)."""
    return {
        "overdue_changes": list(
            _pending_overdue(health.today)
            .select_related("account", "to_type", "reason")
            .order_by("effective_date", "id")[:limit]
        ),
        "billing_failures": list(
            _billing_failures(health.billing_failures_since).select_related("account").order_by("-id")[:limit]
        ),
        "failed_jobs": list(_failed_jobs().select_related("account").order_by("id")[:limit]),
    }
