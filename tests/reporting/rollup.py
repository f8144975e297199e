"""The changes-per-reason roll-up as a reader sees it, and the same counts from the history, for the tests."""

from collections import Counter

from reporting.models import ReasonDayCount
from reporting.reason_rollup import history_counts


def rollup() -> dict:
    """{(day, reason id or 0, back-end status): count}: the roll-up's rows summed per key (a key may have
    several rows until folded), keys at 0 left out."""
    summed = Counter()
    for row in ReasonDayCount.objects.all():
        summed[row.day, row.reason_id, row.backend_status] += row.count
    return {key: n for key, n in summed.items() if n}


def history() -> dict:
    return {(r["effective_date"], r["reason_id"] or 0, r["to_type__backend_status"]): r["n"] for r in history_counts()}
