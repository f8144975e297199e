"""The collections pass (SPEC §11): daily after the billing pass, and by hand with
`manage.py run_collections_pass --date`.

For each day it runs (in the business day's order, engage/business_day.py: a pass after three days down first
replays each of them, the due changes, the billing and the collections of each day in turn, so it does what
three daily runs would have done), it goes through the accounts range by range of ids:

1. reads what is overdue in the range, in one statement (billing.overdue);
2. locks the accounts that are overdue or in an open episode, skipping rows another run holds (a second
   sweep takes those), and reads their overdue again under the lock (a payment locks the account first);
3. ends the episode of an account with nothing overdue any more, restoring its status (restore.py);
4. opens an episode for an account newly overdue, and runs the step due for each account (the last one
   whose days and amount it has reached and that its episode has not run; those before it are passed over):
   a reminder e-mail through the outbox, or a status change through the engine's batch path, one call per
   step for the whole range;
5. records each step run (once per episode: a constraint) and counts the aging.

Each range is one transaction: a run killed midway leaves the ranges it did not finish as they were, and
runs again for that day (it did not succeed). One account that fails does not stop the pass: a range that
fails is redone account by account, and the one that fails is recorded on the run."""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from accounts.engine import BATCH_MAX, change_status_batch
from accounts.models import Account
from billing.overdue import Overdue, overdue_by_account
from billing.passes import account_id_bounds, split_range
from billing.proration import ZERO
from engage.audit import SYSTEM, audit_actor
from engage.business_day import run_pass_for
from engage.clock import today
from engage.copy_rows import insert_rows
from engage.errors import DomainError
from engage.limits import MESSAGE_MAX_CHARS
from engage.locks import lock_accounts
from engage.outbox import outbox_add_many
from engage.pass_runs import PassSummary, detail, recorded_pass, report
from statuses.models import AccountStatusType
from statuses.rules import ChangeOutcome

from .models import PASS_NAME, AgingBucket, CollectionAction, CollectionEpisode, CollectionStep, StepRun
from .overdue import collections_overdue, day_starts, money_until, paid_during
from .restore import settle
from .steps import fill_placeholders, steps_in_order

logger = logging.getLogger(__name__)

# Account ids per range, one transaction: at 5 % overdue about a thousand accounts to act on, in engine calls
# of at most BATCH_MAX each. Fewer, larger transactions: at a million accounts the commits of 2,000-id ranges
# were most of the pass's time.
CHUNK = 20_000
REMINDER = "dunning.reminder"
# The columns the pass writes, every one named (COPY leaves a column it does not name to the database).
EPISODE_FIELDS = ("account_id", "started_on", "ended_on", "type_before_id", "moved_change_id", "moved_by_id",
                  "restored_change_id", "outcome")
STEP_RUN_FIELDS = ("episode_id", "step_id", "step_name", "ran_on", "outcome", "change_id", "message")


def step_source(step: CollectionStep) -> str:
    return f"collection step {step.name}"


@dataclass
class Due:
    """What the pass does to one overdue account on a day: the step it runs (None: nothing), and the steps it
    passes over (due too, not run yet, before the one it runs)."""

    step: CollectionStep | None
    passed_over: list[CollectionStep] = field(default_factory=list)


def due_step(overdue: Overdue, steps: list[CollectionStep], ran: set[int]) -> Due:
    """The last step in order whose days and amount the account has reached and that its episode has not
    run; the earlier ones due and not run are passed over (a catch-up after a long outage, or an account
    first found long overdue, does not get three reminders and two status changes on one day)."""
    due = [s for s in steps if s.pk not in ran and s.days_overdue <= overdue.days and s.min_amount <= overdue.amount]
    if not due:
        return Due(None)
    return Due(due[-1], due[:-1])


def steps_run(episode_ids) -> dict[int, set[int]]:
    """{episode id: the ids of the steps it has run (or passed over)}: one query."""
    ran = defaultdict(set)
    if not episode_ids:
        return ran
    for episode_id, step_id in StepRun.objects.filter(
            episode_id__any=sorted(episode_ids), step__isnull=False).values_list("episode_id", "step_id"):
        ran[episode_id].add(step_id)
    return ran


def backend_statuses() -> dict[int, str]:
    """{status type id: its back-end status}: the aging's columns (a few rows)."""
    return dict(AccountStatusType.objects.values_list("pk", "backend_status"))


def bucket_of(days: int) -> int:
    return AgingBucket.Bucket.UP_TO_30 if days <= 30 else AgingBucket.Bucket.UP_TO_60 if days <= 60 else (
        AgingBucket.Bucket.UP_TO_90 if days <= 90 else AgingBucket.Bucket.OVER_90)


def exempt_on(exempt_until: date | None, day: date) -> bool:
    return exempt_until is not None and exempt_until >= day


# --- The pass --------------------------------------------------------------------------------------------


@dataclass
class DaySummary(PassSummary):
    day: date = field(metadata={"key": "date"})
    overdue_accounts: int = 0
    overdue_amount: Decimal = ZERO
    counts: Counter = field(default_factory=Counter)
    aging: dict = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]), metadata={"report": False})

    def merge(self, part: "DaySummary") -> None:
        self.overdue_accounts += part.overdue_accounts
        self.overdue_amount += part.overdue_amount
        self.counts.update(part.counts)
        self.errors += part.errors
        for key, (n, amount) in part.aging.items():
            self.aging[key][0] += n
            self.aging[key][1] += amount

    def words(self) -> str:
        done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.counts.items()) if v) or "nothing to do"
        return (f"{self.day:%Y-%m-%d}: {self.overdue_accounts} accounts overdue ({self.overdue_amount}); {done}"
                + (f"; {len(self.errors)} accounts failed" if self.errors else ""))


def collections_for_day(*, as_of: date) -> dict:
    """The collections pass's part of one business day (its registered run: engage/business_day.py replays
    missed days, every pass in order)."""
    return collections_day(as_of).as_dict()


def run_collections_pass(*, as_of: date, wait: bool = True) -> dict:
    """The collections pass for as_of in the business day's order: every missed day first (the due changes,
    the billing and the collections of each, in order), then the due changes and the billing of as_of if not
    done yet, then its collections."""
    return run_pass_for(PASS_NAME, as_of, wait=wait)


def collections_day(day: date, *, chunk: int = CHUNK) -> DaySummary:
    """The collections pass of one day. Run for today, it reads all the money recorded so far. Replayed for a day
    that an outage missed, it reads the money recorded before that day began (what its nightly run would have
    seen), then settles, as of that day, the accounts whose payments were recorded during it — what the restore
    on payment did at once in the daily runs, and left to this catch-up while the passes were behind."""
    summary = DaySummary(day)
    night = money_until(day, today())
    with recorded_pass(PASS_NAME, day) as run, audit_actor(SYSTEM):
        steps = list(steps_in_order())
        ranges = split_range(account_id_bounds(), chunk)
        held: set[int] = set()
        for id_range in ranges:
            before = summary.counts.total()
            held |= _range_or_one_by_one(day, steps, summary, night, id_range=id_range)
            report(run, processed=summary.counts.total() - before)
        if held:  # the second sweep: accounts another run held during the first
            _range_or_one_by_one(day, steps, summary, night, only=held)
        if night is not None:
            for id_range in ranges:
                _settle_the_days_payments(day, summary, id_range)
        _save_aging(day, summary.aging)
        run.failed = len(summary.errors)
        run.detail = detail(summary, summary.errors)
    return summary


def _settle_the_days_payments(day: date, summary: DaySummary, id_range) -> None:
    """A replayed day's payments, after its pass: an account in an open episode whose payments recorded that day
    clear what is overdue is settled as of that day (the restore on payment, in order)."""
    paid = paid_during(day, id_range=id_range)
    if not paid:
        return
    with transaction.atomic():
        accounts = lock_accounts(paid)
        episodes = _open_episodes(only=accounts)
        owed = collections_overdue(day, episodes, recorded_before=day_starts(day + timedelta(days=1)))
        for outcome in settle([episode_id for pk, (episode_id, _) in episodes.items() if pk not in owed], day=day):
            summary.counts[outcome] += 1


def _range_or_one_by_one(day, steps, summary, night, *, id_range=None, only=None) -> set[int]:
    """A range in one transaction (its counts added once it commits); when it fails, account by account."""
    try:
        with transaction.atomic():
            part = DaySummary(day)
            held = _do(day, steps, part, night, id_range=id_range, only=only)
        summary.merge(part)
        return held
    except Exception:
        logger.warning("Collections for accounts %s failed together; one by one", id_range or "held")
    ids = sorted(only) if only is not None else _candidates(day, night, id_range)
    held = set()
    for account_id in ids:
        try:
            with transaction.atomic():
                part = DaySummary(day)
                held |= _do(day, steps, part, night, only={account_id})
            summary.merge(part)
        except Exception as exc:  # one bad account must not stop the pass
            logger.exception("Collections for account %s on %s failed", account_id, day)
            summary.errors.append(f"account {account_id}: {type(exc).__name__}: {exc}")
    return held


def _open_episodes(*, id_range=None, only=None) -> dict[int, tuple[int, int | None]]:
    """{account id: (episode id, type before)} of the open episodes of a range (or of the accounts `only`):
    rows, not instances (the pass only reads them)."""
    episodes = CollectionEpisode.objects.filter(ended_on__isnull=True)
    if only is not None:
        episodes = episodes.filter(account_id__any=sorted(only))
    else:
        episodes = episodes.filter(account_id__gt=id_range[0], account_id__lte=id_range[1])
    return {account_id: (pk, type_before) for pk, account_id, type_before
            in episodes.values_list("pk", "account_id", "type_before_id")}


def _candidates(day, night, id_range) -> list[int]:
    """The accounts of a range the pass acts on (overdue, or in an open episode), read without locks."""
    found = set(overdue_by_account(day, id_range=id_range, recorded_before=night))
    return sorted(found | set(_open_episodes(id_range=id_range)))


@dataclass
class Run:
    """A step run the range decided, by account (its episode may be new: its id comes when it is saved)."""

    account_id: int
    step: CollectionStep
    outcome: str
    change_id: int | None = None
    message: str = ""


@dataclass
class Move:
    """What a step's status change leaves on the account's episode (to restore it on payment)."""

    type_before_id: int
    change_id: int
    step_id: int


def _do(day, steps, summary: DaySummary, night, *, id_range=None, only=None) -> set[int]:
    """One range (or the accounts `only`) in the caller's transaction, reading the money recorded before `night`
    (all of it when None). Returns the ids another run held."""
    found = overdue_by_account(day, id_range=id_range, account_ids=only, recorded_before=night)
    episodes = _open_episodes(id_range=id_range, only=only)
    candidates = sorted(set(found) | set(episodes))
    if not candidates:
        return set()
    accounts = {
        row[0]: row for row in Account.objects.select_for_update(skip_locked=True).filter(pk__any=candidates)
        .order_by("pk").values_list("pk", "status_type_id", "collections_exempt_until", "name", "number")
    }
    held = set(candidates) - set(accounts)
    overdue = collections_overdue(day, accounts, recorded_before=night)
    # Nothing overdue any more: the episode ends (and the account is restored, when a step moved it).
    settled = [episodes[pk][0] for pk in accounts if pk in episodes and pk not in overdue]
    for outcome in settle(settled, day=day):
        summary.counts[outcome] += 1
    # Overdue, not exempt: an episode, and the step due.
    runs: list[Run] = []
    changes = defaultdict(list)
    reminders = []
    ran = steps_run([pk for pk, _ in episodes.values()])
    # New episodes are saved after the steps, with what the steps set on them (one INSERT, no UPDATE).
    new_episodes = [pk for pk in overdue if pk not in episodes and not exempt_on(accounts[pk][2], day)]
    summary.counts["episodes_started"] += len(new_episodes)
    for pk, owed in overdue.items():
        if exempt_on(accounts[pk][2], day):
            summary.counts["exempt"] += 1
            continue
        due = due_step(owed, steps, ran[episodes[pk][0]] if pk in episodes else set())
        runs += [Run(pk, step, StepRun.Outcome.PASSED_OVER) for step in due.passed_over]
        if due.step is None:
            continue
        if due.step.action == CollectionAction.REMINDER:
            row = accounts[pk]
            values = {"name": row[3], "number": row[4], "overdue_amount": owed.amount, "overdue_days": owed.days,
                      "oldest_due_on": owed.oldest_due_on.isoformat()}
            reminders.append({"account_id": pk, "subject": fill_placeholders(due.step.subject, values),
                              "body": fill_placeholders(due.step.body, values)})
            runs.append(Run(pk, due.step, StepRun.Outcome.SENT))
        else:
            changes[due.step.pk].append(pk)
    steps_by_pk = {s.pk: s for s in steps}
    moves: dict[int, Move] = {}
    # Each account's status type after the range: the one read under the lock, or the one a step applied.
    status_after = {pk: row[1] for pk, row in accounts.items()}
    for step_pk, ids in changes.items():
        for i in range(0, len(ids), BATCH_MAX):
            runs += _change_status(steps_by_pk[step_pk], ids[i : i + BATCH_MAX], day, episodes, moves, status_after)
    episode_ids = {pk: episode_id for pk, (episode_id, _) in episodes.items()}
    episode_ids.update(_save_new_episodes(new_episodes, day, moves))
    _save_moves([(episode_ids[pk], move) for pk, move in moves.items() if pk in episodes])
    _save_step_runs(runs, episode_ids, day)
    outbox_add_many(REMINDER, reminders)
    summary.counts.update(str(run.outcome) for run in runs)
    _count_aging(overdue, status_after, summary)  # the accounts locked here (the others in the sweep that takes them)
    return held


def _change_status(step: CollectionStep, account_ids: list[int], day: date, episodes, moves: dict[int, Move],
                   status_after: dict[int, int]) -> list[Run]:
    """One engine call for the accounts this step changes (at most BATCH_MAX). Each episode remembers the type
    the account had before a step first moved it, and the change (to restore it on payment): in `moves`, saved
    by the caller; an applied change's type goes in `status_after`. Returns the step runs."""
    try:
        with transaction.atomic():
            results = change_status_batch(
                account_ids=sorted(account_ids), to_type=step.status_type, option=step.option, reason=step.reason,
                on=day, source=step_source(step),
            )
    except DomainError as err:  # the request itself is refused (its reason retired since): every account
        message = err.message[:MESSAGE_MAX_CHARS]
        return [Run(pk, step, StepRun.Outcome.SKIPPED, message=message) for pk in account_ids]
    runs = []
    for result in results:
        pk = result.account_id
        if result.state == ChangeOutcome.SKIPPED:
            runs.append(Run(pk, step, StepRun.Outcome.SKIPPED, message=result.message[:MESSAGE_MAX_CHARS]))
            continue
        applied = result.state == ChangeOutcome.APPLIED
        runs.append(Run(pk, step, StepRun.Outcome.APPLIED if applied else StepRun.Outcome.SCHEDULED,
                        change_id=result.change_id))
        before = episodes[pk][1] if pk in episodes else None
        moves[pk] = Move(before if before is not None else status_after[pk], result.change_id, step.pk)
        if applied:
            status_after[pk] = step.status_type_id
    return runs


def _save_new_episodes(account_ids: list[int], day: date, moves: dict[int, Move]) -> dict[int, int]:
    """The range's new episodes, with what its steps set on them, in one write: {account id: episode id}."""
    rows = []
    for pk in account_ids:
        move = moves.get(pk)
        moved = (move.type_before_id, move.change_id, move.step_id) if move else (None, None, None)
        rows.append((pk, day, None, *moved, None, ""))
    return dict(zip(account_ids, insert_rows(CollectionEpisode, EPISODE_FIELDS, rows, ids=True), strict=True))


def _save_step_runs(runs: list[Run], episode_ids: dict[int, int], day: date) -> None:
    insert_rows(StepRun, STEP_RUN_FIELDS, [
        (episode_ids[run.account_id], run.step.pk, run.step.name, day, str(run.outcome), run.change_id, run.message)
        for run in runs
    ])


def _save_moves(moved: list[tuple[int, Move]]) -> None:
    """Saved episodes a step moved: one UPDATE … FROM a list (an unnest of arrays on PostgreSQL, VALUES of 300
    rows at a time on SQLite), not Django's CASE per row and field."""
    rows = [(episode_id, m.type_before_id, m.change_id, m.step_id) for episode_id, m in moved]
    if not rows:
        return
    table = connection.ops.quote_name(CollectionEpisode._meta.db_table)
    sets = (f"type_before_id = v.type_before, moved_change_id = v.moved_change, moved_by_id = v.moved_by "
            f"FROM {{}} WHERE {table}.id = v.id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET "
                + sets.format("unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                              "AS v(id, type_before, moved_change, moved_by)"),
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        for i in range(0, len(rows), 300):
            batch = rows[i : i + 300]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
            cursor.execute(
                f"WITH v(id, type_before, moved_change, moved_by) AS (VALUES {values}) "
                f"UPDATE {table} SET " + sets.format("v"),
                [value for row in batch for value in row],
            )


def _count_aging(found: dict[int, Overdue], status_after: dict[int, int], summary: DaySummary) -> None:
    """The range's overdue accounts into the day's buckets (as collections sees what is overdue, read under the
    accounts' locks before the steps), under the status each has after the pass."""
    if not found:
        return
    backend = backend_statuses()
    for pk, owed in found.items():
        cell = summary.aging[(backend[status_after[pk]], bucket_of(owed.days))]
        cell[0] += 1
        cell[1] += owed.amount
        summary.overdue_accounts += 1
        summary.overdue_amount += owed.amount


def _save_aging(day: date, aging) -> None:
    rows = [AgingBucket(as_of=day, backend_status=status, bucket=bucket, accounts=n, amount=amount)
            for (status, bucket), (n, amount) in sorted(aging.items())]
    try:
        with transaction.atomic():
            AgingBucket.objects.filter(as_of=day).delete()
            AgingBucket.objects.bulk_create(rows)
    except IntegrityError:  # another run of the same day wrote it at the same moment: its count stands
        logger.info("Aging for %s was written by another run", day)
