"""Account Statistics (SPEC §8): the sidebar's rows, also shown by the statistics page and the API."""

from django.db.models import Sum, Value
from django.db.models.functions import Coalesce

from statuses.models import AccountStatusType
from statuses.rules import STATISTICS_ORDER, BackendStatus


def account_statistics() -> list[dict]:
    """SPEC §8: per back-end status, the counters of the types shown in statistics, added together.
    One query over the (small) status type table: its cost does not grow with the accounts."""
    totals = {
        row["backend_status"]: row["total"]
        for row in AccountStatusType.objects.filter(show_in_statistics=True)
        .values("backend_status")
        .annotate(total=Coalesce(Sum("counter__count"), Value(0)))
    }
    return [
        {"backend_status": status.value, "label": BackendStatus(status).label, "count": totals[status]}
        for status in STATISTICS_ORDER
        if status in totals
    ]
