"""What the collections pass for a day will do (SPEC §11): the dry run is the pass. It runs the very passes the
collections pass would run — in the business day's order, every day it would replay (the due changes, the
billing and the collections of each missed day), then the day's — inside a transaction that is rolled back,
and reports what they did: each step run, each episode that ends and how (restored, the pending change
removed, not restored because of a change by hand), each row with its day. So the dry run and the pass never
differ: they are the same code on the same rows. Nothing is kept: no change, no e-mail, no switch job, no pass
record (the hooks that would hand them over run only after a commit that never comes).

It costs what the pass costs, and holds the rows it would lock while it runs."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q

from accounts.models import Account
from billing.proration import ZERO
from engage.business_day import run_pass_for
from engage.clock import today
from engage.limits import check_date
from statuses.rules import ChangeOption, StatusChangeState

from .models import PASS_NAME, CollectionAction, CollectionEpisode, CollectionStep, StepRun
from .overdue import collections_overdue, money_until
from .steps import steps_in_order

LIST_MAX = 500  # accounts listed (every one is counted)
RESTORE = "restore"
END = "end_episode"
ACTING = (StepRun.Outcome.SENT, StepRun.Outcome.APPLIED, StepRun.Outcome.SCHEDULED, StepRun.Outcome.SKIPPED)


def describe(step: CollectionStep) -> str:
    if step.action == CollectionAction.REMINDER:
        return f"E-mail “{step.subject}”"
    return f"Status → {step.status_type.name} ({ChangeOption(step.option).label})"


@dataclass
class Planned:
    account_id: int
    number: str
    name: str
    status_type: str
    action: str  # reminder | status_change | restore | end_episode
    what: str
    step: CollectionStep | None = None
    overdue_amount: Decimal = ZERO
    overdue_days: int = 0
    day: date | None = None


@dataclass
class Plan:
    day: date
    accounts: list[Planned] = field(default_factory=list)
    total: int = 0
    overdue_accounts: int = 0
    overdue_amount: Decimal = ZERO
    exempt: int = 0
    per_step: Counter = field(default_factory=Counter)  # step id → accounts
    per_action: Counter = field(default_factory=Counter)
    steps: list[CollectionStep] = field(default_factory=list)
    days: list[date] = field(default_factory=list)  # every day the pass runs collections for, in order
    busy: str = ""  # another run is catching up: nothing could be tried

    @property
    def truncated(self) -> bool:
        return self.total > len(self.accounts)

    @property
    def step_rows(self) -> list[tuple[CollectionStep, int]]:
        return [(step, self.per_step[step.pk]) for step in self.steps]


def collections_dry_run(day: date, *, limit: int = LIST_MAX) -> Plan:
    """The collections pass for `day` (a business date, SPEC §9: DomainError outside the bounds), run and rolled
    back. Raises PassGoesBack for a day before its last success (the pass would refuse it)."""
    day = check_date(day, field="date", label="The day of the pass")
    plan = Plan(day, steps=list(steps_in_order()))
    with transaction.atomic():
        runs_before = StepRun.objects.aggregate(last=Max("pk"))["last"] or 0
        episodes_before = CollectionEpisode.objects.aggregate(last=Max("pk"))["last"] or 0
        open_before = set(CollectionEpisode.objects.filter(ended_on__isnull=True).values_list("pk", flat=True))
        result = run_pass_for(PASS_NAME, day, wait=False)
        if "busy" in result:
            plan.busy = result["busy"]
        else:
            _read(plan, result, runs_before, open_before, episodes_before, limit)
        transaction.set_rollback(True)
    # The status each account has now (the rows above were read before the rollback).
    now = dict(Account.objects.filter(pk__any=sorted({p.account_id for p in plan.accounts}))
               .values_list("pk", "status_type__name"))
    for planned in plan.accounts:
        planned.status_type = now.get(planned.account_id, planned.status_type)
    return plan


def _read(plan: Plan, result: dict, runs_before: int, open_before: set[int], episodes_before: int,
          limit: int) -> None:
    """What the passes just did (inside the transaction about to be rolled back), as the plan's rows."""
    summaries = [d["summary"] for d in result["caught_up"] if d["pass"] == PASS_NAME] + [result[PASS_NAME]]
    plan.days = [date.fromisoformat(s["date"]) for s in summaries]
    last = summaries[-1]
    plan.overdue_accounts, plan.overdue_amount = last["overdue_accounts"], Decimal(last["overdue_amount"])
    plan.exempt = last.get("exempt", 0)
    steps = {s.pk: s for s in plan.steps}
    rows = [(run.ran_on, run.episode.account_id, run.step.action if run.step else CollectionAction.REMINDER,
             _step_does(run, steps), steps.get(run.step_id))
            for run in StepRun.objects.filter(pk__gt=runs_before, outcome__in=ACTING).select_related("episode", "step")]
    ended = CollectionEpisode.objects.filter(Q(pk__any=sorted(open_before)) | Q(pk__gt=episodes_before),
                                             ended_on__isnull=False).select_related("moved_change")
    rows += [(episode.ended_on, episode.account_id, RESTORE if _restores(episode) else END, episode.outcome, None)
             for episode in ended]
    rows.sort(key=lambda row: (row[0], row[1]))
    accounts = {a[0]: a for a in Account.objects.filter(pk__any=sorted({row[1] for row in rows}))
                .values_list("pk", "number", "name")}
    owed = {}
    for day in plan.days:
        ids = sorted({row[1] for row in rows if row[0] == day and row[2] not in (RESTORE, END)})
        owed[day] = collections_overdue(day, ids, recorded_before=money_until(day, today()))
    for ran_on, account_id, action, what, step in rows:
        plan.total += 1
        plan.per_action[action] += 1
        if step is not None:
            plan.per_step[step.pk] += 1
        if len(plan.accounts) < limit:
            _pk, number, name = accounts[account_id]
            overdue = owed.get(ran_on, {}).get(account_id)
            plan.accounts.append(Planned(account_id, number, name, "", action, what, step,
                                         overdue.amount if overdue else ZERO, overdue.days if overdue else 0,
                                         ran_on))


def _restores(episode: CollectionEpisode) -> bool:
    """As the pass counts it: the account went back (restore.settle), or the step's pending change was removed
    before it took effect."""
    return bool(episode.restored_change_id) or (
        episode.moved_change is not None and episode.moved_change.state == StatusChangeState.REMOVED)


def _step_does(run: StepRun, steps: dict[int, CollectionStep]) -> str:
    step = steps.get(run.step_id)
    does = describe(step) if step else run.step_name
    return f"{does}: skipped, {run.message}" if run.outcome == StepRun.Outcome.SKIPPED else does
