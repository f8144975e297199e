"""What holds on to a status type or a reason, asked of the apps that use them: each registers its checks
from its registry (AppConfig.ready), so statuses never names an app above it. The Setup services read it to
refuse a delete (SPEC §3: a type that accounts use, that a pending change targets, the default, …) and a move
to or from prospect while accounts use the type; the list page reads each type's accounts."""

from collections.abc import Callable

# (type ids) → {type id: accounts of that type}, from counters kept with every change: no COUNT(*).
AccountCounts = Callable[[list[int]], dict[int, int]]
# (a status type or a reason) → why it is held, each a phrase: "12 accounts use it", "collection steps use it".
Holds = Callable[[object], list[str]]

_account_counts: list[AccountCounts] = []
_holds: list[Holds] = []


def register_usage(*, account_counts: AccountCounts | None = None, holds: Holds | None = None) -> None:
    if account_counts is not None and account_counts not in _account_counts:
        _account_counts.append(account_counts)
    if holds is not None and holds not in _holds:
        _holds.append(holds)


def account_counts(type_ids) -> dict[int, int]:
    """{type id: how many accounts have it}, for every id asked (0 when none)."""
    counts = dict.fromkeys(type_ids, 0)
    for counter in _account_counts:
        for type_id, n in counter(list(type_ids)).items():
            counts[type_id] += n
    return counts


def accounts_using(status_type) -> int:
    return account_counts([status_type.pk])[status_type.pk] if status_type.pk else 0


def holds(obj) -> list[str]:
    """Every reason, in the order the apps registered, why `obj` may not be deleted."""
    return [why for check in _holds for why in check(obj)]
