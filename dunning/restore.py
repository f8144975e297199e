"""The end of an overdue episode (SPEC §11): when nothing is overdue any more, an account a step moved goes
back to the status type it had before the episode (or the type the step names), at once with a prorated
transaction, reason "Payment received" — unless someone changed its status by hand in between, in which case
nothing automatic happens and the Overview says why. A step's change still pending is removed instead.

The collections pass ends episodes it finds paid; a payment that clears what was overdue does it at once:
the payment's transaction writes an outbox message (billing sends `payments_changed`), and its consumer
settles the account within seconds of the money, not at the next pass."""

from collections import defaultdict
from datetime import date

from django.db import transaction
from django.dispatch import receiver

from accounts.engine import change_status_batch, status_change_remove
from accounts.models import Account, StatusChange
from billing.payments import payments_changed
from engage.audit import SYSTEM, audit_actor
from engage.business_day import done_through
from engage.clock import today
from engage.errors import DomainError
from engage.limits import MESSAGE_MAX_CHARS
from engage.locks import lock_account
from engage.outbox import handler, outbox_add
from statuses.models import StatusReason
from statuses.rules import ChangeOption, ChangeOutcome, ReasonKey, StatusChangeState, is_billing_inert

from .models import PASS_NAME, CollectionEpisode
from .overdue import cleared_by_payments, collections_overdue

SETTLE = "dunning.settle"
# What cleared the overdue (payments alone, or a credit a person issued as well): the restore's reason and
# the history's Who say which.
PAID_BY = {True: ReasonKey.PAYMENT_RECEIVED, False: ReasonKey.CREDIT_ISSUED}
RESTORE_SOURCES = {ReasonKey.PAYMENT_RECEIVED: "collections (payment received)",
                   ReasonKey.CREDIT_ISSUED: "collections (credit issued)"}


def _reason(key: ReasonKey, backend_status: str) -> StatusReason | None:
    """The reason the product gives a restore (by its key: an operator may rename it), when it applies."""
    reason = StatusReason.objects.filter(key=key, is_active=True).first()
    return reason if reason is not None and reason.applies_to(backend_status) else None


def restore_target(episode: CollectionEpisode):
    """The status type a paid account goes back to: the step's Restores to, else the type before the episode."""
    step = episode.moved_by
    return step.restore_to if step is not None and step.restore_to_id else episode.type_before


def changed_by_hand(episodes) -> dict[int, StatusChange]:
    """{account id: the first change made by hand (not by collections) since a step moved it}, for the
    episodes a step moved."""
    moved = {e.account_id: e.moved_change_id for e in episodes if e.moved_change_id}
    if not moved:
        return {}
    found = {}
    for change in (StatusChange.objects.filter(account_id__any=sorted(moved), source="", pk__gt=min(moved.values()),
                                               state__in=[StatusChangeState.APPLIED, StatusChangeState.PENDING])
                   .select_related("to_type", "created_by").order_by("pk")):
        if change.pk > moved[change.account_id]:
            found.setdefault(change.account_id, change)
    return found


def settle(episode_ids: list[int], *, day: date) -> list[str]:
    """End these open episodes (their accounts locked by the caller, nothing overdue on `day`): restore what
    a step moved, where it may be. Returns an outcome word per episode, for the pass's counts."""
    if not episode_ids:
        return []
    episodes = list(CollectionEpisode.objects.filter(pk__any=sorted(episode_ids))
                    .select_related("moved_change", "moved_by__restore_to", "type_before"))
    by_hand = changed_by_hand(episodes)
    current = dict(Account.objects.filter(pk__any=[e.account_id for e in episodes])
                   .values_list("pk", "status_type__backend_status"))
    outcomes, groups = [], defaultdict(list)
    for episode in episodes:
        episode.ended_on = day
        change = episode.moved_change
        if change is None:
            episode.outcome, word = "Paid. No step had changed its status.", "episodes_ended"
        elif episode.account_id in by_hand:
            manual = by_hand[episode.account_id]
            who = manual.created_by.username if manual.created_by else "someone"
            episode.outcome = (f"Paid, not restored: {who} changed its status to “{manual.to_type.name}” by hand "
                               f"(for {manual.effective_date:%Y-%m-%d}) after collections had moved it.")
            word = "not_restored"
        elif change.state == StatusChangeState.PENDING:
            status_change_remove(change_id=change.pk)
            episode.outcome = (f"Paid before the step's change to “{change.to_type.name}” on "
                               f"{change.effective_date:%Y-%m-%d}: that change was removed.")
            word = "restored"
        elif change.state != StatusChangeState.APPLIED:
            episode.outcome = f"Paid. The step's change was {change.get_state_display().lower()}: nothing to restore."
            word = "episodes_ended"
        else:
            target = restore_target(episode)
            prorated = not is_billing_inert(current[episode.account_id], target.backend_status)
            groups[(target, ChangeOption.PRORATED if prorated else ChangeOption.NO_TRANSACTION)].append(episode)
            continue
        outcomes.append(word)
    by_payments = cleared_by_payments(day, [e.account_id for group in groups.values() for e in group])
    for (target, option), group in groups.items():
        for paid in (True, False):  # the restore's reason says what cleared it: payments, or a credit as well
            part = [e for e in group if (e.account_id in by_payments) == paid]
            if part:
                outcomes += _restore(part, target, option, day, key=PAID_BY[paid])
    CollectionEpisode.objects.bulk_update(episodes, ["ended_on", "outcome", "restored_change"])
    return outcomes


def _restore(episodes, target, option, day, *, key: ReasonKey) -> list[str]:
    by_account = {e.account_id: e for e in episodes}
    try:
        with transaction.atomic():
            results = change_status_batch(
                account_ids=sorted(by_account), to_type=target, option=option,
                reason=_reason(key, target.backend_status), on=day, source=RESTORE_SOURCES[key],
            )
    except DomainError as err:
        for episode in episodes:
            episode.outcome = f"Paid, not restored to “{target.name}”: {err.message}"[:MESSAGE_MAX_CHARS]
        return ["not_restored"] * len(episodes)
    words = []
    for result in results:
        episode = by_account[result.account_id]
        if result.state == ChangeOutcome.SKIPPED:
            episode.outcome = f"Paid, not restored to “{target.name}”: {result.message}"[:MESSAGE_MAX_CHARS]
            words.append("not_restored")
        else:
            episode.restored_change_id = result.change_id
            episode.outcome = f"Paid. Restored to “{target.name}”."
            words.append("restored")
    return words


@receiver(payments_changed)
def _payment_arrived(sender, account_id: int, **kwargs):
    """In the payment's transaction: an account in an open episode is settled right after it commits."""
    if CollectionEpisode.objects.filter(account_id=account_id, ended_on__isnull=True).exists():
        outbox_add(SETTLE, account_id=account_id)


@handler(SETTLE)
def settle_after_payment(account_id: int) -> str | None:
    """The outbox consumer (in its transaction): end the account's episode if nothing is overdue today. Not
    before today's collections pass has run (at night; or for the days missed while beat was down): that pass,
    or the catch-up, settles the account on the payment's day, in order (SPEC §6)."""
    day = today()
    last = done_through().get(PASS_NAME)
    if last is not None and last < day:
        return None  # today's pass (or a catch-up) settles it: it reads every payment recorded before it runs
    with audit_actor(SYSTEM):
        lock_account(account_id)
        episode = CollectionEpisode.objects.filter(account_id=account_id, ended_on__isnull=True).first()
        if episode is None or collections_overdue(day, [account_id]):
            return None
        return settle([episode.pk], day=day)[0]
