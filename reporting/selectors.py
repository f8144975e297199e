"""Account Statistics (SPEC §8): the sidebar's rows, also shown by the statistics page and the API."""

from accounts.engine import counted_types
from statuses.models import AccountStatusType
from statuses.rules import STATISTICS_ORDER, BackendStatus


def account_statistics() -> list[dict]:
    """SPEC §8: per back-end status, the counters of the types shown in statistics, added together.
    One query over the (small) status type table: its cost does not grow with the accounts."""
    totals: dict[str, int] = {}
    for backend_status, count in counted_types(AccountStatusType.objects.filter(show_in_statistics=True)).values_list(
        "backend_status", "account_count"
    ):
        totals[backend_status] = totals.get(backend_status, 0) + count
    return [
        {"backend_status": status.value, "label": BackendStatus(status).label, "count": totals[status]}
        for status in STATISTICS_ORDER
        if status in totals
    ]
