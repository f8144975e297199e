"""What a change will do, before it is done (SPEC §5: the preview and the applied change always agree): the
account's timeline up to the change's date, played by billing in memory, then the change. Saves nothing."""

from dataclasses import dataclass, field
from datetime import date

from billing.status_transactions import BilledBefore, Move, PackagePlan, forecast_status_transactions
from engage.clock import today
from statuses.rules import StatusChangeState

from ..models import Account, StatusChange
from .rules import ChangeRequest, change_request, check_request
from .timeline import Position, after_step, pending_changes_of, walk


@dataclass
class Outcome:
    """What a change does or did: the state, its date, the lines, the packages' new next bill dates, and
    the periods the billing pass bills before its date (SPEC §5: a preview counts them, and says so)."""

    state: str
    effective_date: date
    plans: list[PackagePlan]
    change: StatusChange | None = None
    billed_before: list[BilledBefore] = field(default_factory=list)  # summed per package

    @property
    def transactions(self):
        return [line for plan in self.plans for line in plan.lines]


def forecast(account: Account, pending: list[StatusChange], request: ChangeRequest, effective: date, on: date,
             packages=None, *, lines: bool = False) -> tuple[list[PackagePlan], list[BilledBefore]]:
    """The change on its date, computed in memory: first what happens before it (the billing pass's periods
    and the earlier pending changes, in date order), then the change itself. For a change dated today only
    the billing a catch-up run still owes comes first. (plans, what is billed before it per package; each
    period's line too with `lines`)."""
    at = Position.now(account)
    earlier = []
    for step in walk(at, [c for c in pending if c.effective_date < effective] if effective > on else []):
        change, before, error = step
        earlier.append(Move(before.backend_status, change.to_type.backend_status, change.option,
                            change.effective_date, applies=error is None))
        at = after_step(step)
    change = Move(at.backend_status, request.to_type.backend_status, request.option, effective)
    return forecast_status_transactions(account_id=account.pk, bill_day=account.bill_day, earlier=earlier,
                                        change=change, packages=packages, lines=lines)


def preview_status_change(
    *, account_id: int, to_type, option, effective_date=None, reason=None, note="", on: date | None = None,
    lines: bool = False,
) -> Outcome:
    """Exactly what account_change_status would do (on its date, for a future one); saves nothing. What the
    billing pass bills before its date is summed per package (with `lines`, each period's line too)."""
    on = on or today()
    request = change_request(to_type=to_type, option=option, effective_date=effective_date, reason=reason,
                             note=note, on=on)
    account = Account.objects.select_related("status_type").get(pk=account_id)
    pending = pending_changes_of(account.pk)
    effective = check_request(account, pending, request, on)
    plans, billed = forecast(account, pending, request, effective, on, lines=lines)
    state = StatusChangeState.PENDING if effective > on else StatusChangeState.APPLIED
    return Outcome(state, effective, plans, billed_before=billed)
