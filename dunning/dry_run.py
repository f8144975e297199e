"""What the collections pass would do on a day (SPEC §11), without locking or writing anything: the same
reading of what is overdue (billing.overdue), the same choice of step (passes.due_step), the same
exemptions and episodes. The page and the API show it before the pass runs."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from accounts.models import Account
from billing.overdue import overdue_by_account
from billing.passes import account_id_bounds, split_range
from billing.proration import ZERO
from statuses.rules import ChangeOption, StatusChangeState

from .models import CollectionAction, CollectionEpisode, CollectionStep
from .passes import due_step, exempt_on, steps_run
from .restore import changed_by_hand, restore_target
from .steps import steps_in_order

LIST_MAX = 500  # accounts listed (every one is counted)
RANGE = 20_000  # account ids read per statement: it only reads, so wider ranges than the pass's, fewer queries
RESTORE = "restore"
END = "end_episode"


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

    @property
    def truncated(self) -> bool:
        return self.total > len(self.accounts)

    @property
    def step_rows(self) -> list[tuple[CollectionStep, int]]:
        return [(step, self.per_step[step.pk]) for step in self.steps]


def collections_dry_run(day: date, *, limit: int = LIST_MAX) -> Plan:
    plan = Plan(day, steps=list(steps_in_order()))
    for id_range in split_range(account_id_bounds(), RANGE):
        _plan_range(plan, id_range, limit)
    return plan


def _plan_range(plan: Plan, id_range, limit: int) -> None:
    found = overdue_by_account(plan.day, id_range=id_range)
    episodes = {e.account_id: e for e in CollectionEpisode.objects.filter(
        ended_on__isnull=True, account_id__gt=id_range[0], account_id__lte=id_range[1],
    ).select_related("type_before", "moved_by__restore_to", "moved_change")}
    if not found and not episodes:
        return
    accounts = {row[0]: row for row in Account.objects.filter(pk__any=sorted(set(found) | set(episodes)))
                .values_list("pk", "number", "name", "status_type__name", "collections_exempt_until")}
    ran = steps_run(episodes.values())
    by_hand = changed_by_hand([e for pk, e in episodes.items() if pk not in found])

    def add(pk, action, what, step=None, owed=None):
        row = accounts[pk]
        plan.total += 1
        plan.per_action[action] += 1
        if len(plan.accounts) < limit:
            plan.accounts.append(Planned(pk, row[1], row[2], row[3], action, what, step,
                                         owed.amount if owed else ZERO, owed.days if owed else 0))

    for pk in sorted(set(found) | set(episodes)):
        owed = found.get(pk)
        if owed is None:
            episode = episodes[pk]
            change = episode.moved_change
            if change is None or pk in by_hand or change.state != StatusChangeState.APPLIED:
                add(pk, END, "Paid: the episode ends" + (", not restored (status changed by hand)"
                                                          if pk in by_hand else ""))
            else:
                target = restore_target(episode)
                add(pk, RESTORE, f"Paid: restore to {target.name}")
            continue
        plan.overdue_accounts += 1
        plan.overdue_amount += owed.amount
        if exempt_on(accounts[pk][4], plan.day):
            plan.exempt += 1
            continue
        episode = episodes.get(pk)
        due = due_step(owed, plan.steps, ran[episode.pk] if episode else set())
        if due.step is not None:
            plan.per_step[due.step.pk] += 1
            add(pk, due.step.action, describe(due.step), due.step, owed)
