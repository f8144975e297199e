"""The statistics page's reads: counts per status type and back-end status (from the counters), the
daily snapshot and its chart, and status changes per reason over a period."""

from collections import defaultdict
from datetime import date, timedelta

import pygal
from django.db.models import Sum
from pygal.style import Style

from accounts.engine import counted_types
from engage.errors import DomainError
from engage.limits import FIRST_DATE, check_date
from engage.pass_runs import recorded_pass
from engage.schedule import scheduled
from statuses.colours import chart_hex
from statuses.models import StatusReason
from statuses.rules import STATISTICS_ORDER, BackendStatus

from .health import health_details, scheduler_health
from .models import ReasonDayCount, StatisticsSnapshot
from .selectors import account_statistics

SNAPSHOT_PASS_NAME = "statistics_snapshot"
CHART_DAYS = 90
PERIOD_DAYS = 30


def record_snapshot(*, day: date) -> int:
    """Copy the counters of every status type (0 for a type without accounts) into the day's snapshot.
    Idempotent: a second run the same day overwrites that day's rows (one read, one upsert)."""
    with recorded_pass(SNAPSHOT_PASS_NAME, day) as run:
        rows = [
            StatisticsSnapshot(day=day, status_type_id=pk, backend_status=backend, count=count or 0)
            for pk, backend, count in counted_types().values_list("pk", "backend_status", "account_count")
        ]
        StatisticsSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["day", "status_type"],
            update_fields=["backend_status", "count"],
        )
        run.processed = len(rows)
    return run.processed


def status_type_counts() -> list[dict]:
    """Every status type with its counter (one query over the small type table, never over accounts)."""
    rows = counted_types().values("pk", "name", "backend_status", "show_in_statistics", "account_count")
    order = {status: i for i, status in enumerate(STATISTICS_ORDER)}
    return sorted(
        (
            {
                "id": row["pk"],
                "name": row["name"],
                "backend_status": row["backend_status"],
                "backend_label": BackendStatus(row["backend_status"]).label,
                "show_in_statistics": row["show_in_statistics"],
                "count": row["account_count"],
            }
            for row in rows
        ),
        key=lambda r: (order[r["backend_status"]], r["name"].lower()),
    )


def backend_status_totals(type_rows: list[dict], sidebar_rows: list[dict]) -> list[dict]:
    """All accounts per back-end status (every type), in the sidebar's order, beside the sidebar's own
    count (`shown`, None when the sidebar does not show that back-end status)."""
    totals = {status: {"all": 0, "types": 0} for status in STATISTICS_ORDER}
    for row in type_rows:
        totals[row["backend_status"]]["all"] += row["count"]
        totals[row["backend_status"]]["types"] += 1
    shown = {row["backend_status"]: row["count"] for row in sidebar_rows}
    return [
        {"backend_status": status.value, "label": status.label, "shown": shown.get(status.value), **totals[status]}
        for status in STATISTICS_ORDER
        if totals[status]["types"]
    ]


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=PERIOD_DAYS - 1), today


def resolve_period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """A statistics period from the bounds given, for the page's form and the API alike: the end defaults
    to today and the start to the 30 days ending at the end. Raises DomainError naming the field."""
    end = check_date(end, field="end", label="The end of the period") if end else today
    if start:
        start = check_date(start, field="start", label="The start of the period")
    else:
        start = max(default_period(end)[0], FIRST_DATE)
    if end < start:
        raise DomainError(f"The period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d}).", field="end")
    return start, end


def snapshot_series(*, start: date, end: date) -> dict[str, dict[date, int]]:
    """{back-end status: {day: accounts}} from the daily snapshots (one aggregate query)."""
    series: dict[str, dict[date, int]] = defaultdict(dict)
    rows = (
        StatisticsSnapshot.objects.filter(day__gte=start, day__lte=end)
        .values("day", "backend_status")
        .annotate(total=Sum("count"))
        .order_by("day")
    )
    for row in rows:
        series[row["backend_status"]][row["day"]] = row["total"]
    return series


def _tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _csp_filter(nonce: str | None):
    """An xml filter that makes pygal's SVG pass the Content-Security-Policy: its config <script> (for
    tooltips this static chart does not have) is dropped, its <style> carries the request's nonce, and
    each style="" attribute becomes SVG presentation attributes (style-src blocks the one, not the other)."""

    def apply(tree):
        for parent in list(tree.iter()):
            for child in list(parent):
                if _tag(child) == "script":
                    parent.remove(child)
        for element in tree.iter():
            if nonce and _tag(element) == "style":
                element.set("nonce", nonce)
            for declaration in (element.attrib.pop("style", None) or "").split(";"):
                name, colon, value = declaration.partition(":")
                if colon and name.strip():
                    element.set(name.strip(), value.strip())
        return tree

    return apply


def snapshot_chart(*, start: date, end: date, nonce: str | None = None) -> str:
    """The accounts per back-end status over time as an inline SVG (server-side, no JavaScript, nothing
    loaded from elsewhere); "" when there is no snapshot in the window. Its <style> element carries
    `nonce` (the request's CSP nonce): without it the page's policy ignores the chart's styles."""
    series = snapshot_series(start=start, end=end)
    if not series:
        return ""
    statuses = [s for s in STATISTICS_ORDER if s in series]
    style = Style(
        background="transparent",
        plot_background="transparent",
        foreground="#212529",
        foreground_strong="#212529",
        foreground_subtle="#adb5bd",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=14,
        colors=tuple(chart_hex(s) for s in statuses),
        guide_stroke_color="#ced4da",
        major_guide_stroke_color="#ced4da",
        guide_stroke_dasharray="2,3",
        major_guide_stroke_dasharray="2,3",
    )
    chart = pygal.DateLine(
        js=[],
        style=style,
        width=900,
        height=340,
        disable_xml_declaration=True,
        show_x_guides=False,
        show_y_guides=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(statuses),
        dots_size=2.5,
        stroke_style={"width": 2.5},
        x_label_rotation=0,
        x_value_formatter=lambda d: d.strftime("%d %b"),
        value_formatter=lambda v: f"{int(v):,}",
        min_scale=4,
        max_scale=8,
        include_x_axis=True,
        truncate_legend=-1,
        margin=16,
    )
    chart.add_xml_filter(_csp_filter(nonce))
    for status in statuses:
        chart.add(status.label, sorted(series[status].items()))
    return chart.render(is_unicode=True)


def reason_counts(*, start: date, end: date) -> dict:
    """Applied status changes dated within [start, end], per reason and target back-end status, from the
    daily roll-up (reporting/reason_rollup.py): at most days × reasons × statuses rows, whatever the number
    of changes. Rows are sorted by total, largest first; "no reason" is its own row."""
    summed = (
        ReasonDayCount.objects.filter(day__gte=start, day__lte=end)
        .values("reason_id", "backend_status")
        .annotate(n=Sum("count"))
        .order_by()
    )
    names = dict(StatusReason.objects.values_list("pk", "name"))
    rows = [
        {"reason_id": row["reason_id"] or None, "reason__name": names.get(row["reason_id"]),
         "to_type__backend_status": row["backend_status"], "n": row["n"]}
        for row in summed if row["n"]
    ]
    by_reason: dict[int | None, dict] = {}
    column_totals = {status.value: 0 for status in STATISTICS_ORDER}
    for row in rows:
        entry = by_reason.setdefault(
            row["reason_id"],
            {"reason_id": row["reason_id"], "reason": row["reason__name"], "counts": dict.fromkeys(column_totals, 0)},
        )
        entry["counts"][row["to_type__backend_status"]] += row["n"]
        column_totals[row["to_type__backend_status"]] += row["n"]
    table = []
    for entry in by_reason.values():
        entry["total"] = sum(entry["counts"].values())
        entry["cells"] = [entry["counts"][status] for status in column_totals]
        table.append(entry)
    table.sort(key=lambda e: (-e["total"], e["reason"] is None, (e["reason"] or "").lower()))
    return {
        "start": start,
        "end": end,
        "columns": [{"backend_status": s.value, "label": s.label} for s in STATISTICS_ORDER],
        "rows": table,
        "column_totals": list(column_totals.values()),
        "total": sum(column_totals.values()),
        "flat": [
            {
                "reason_id": row["reason_id"],
                "reason": row["reason__name"],
                "backend_status": row["to_type__backend_status"],
                "count": row["n"],
            }
            for row in sorted(rows, key=lambda r: ((r["reason__name"] or "").lower(), r["to_type__backend_status"]))
        ],
    }


def statistics_overview(*, on: date, period: tuple[date, date] | None, csp_nonce: str | None = None) -> dict:
    """Everything the statistics page shows; per-reason counts only for a valid period. `csp_nonce` is the
    request's, for the chart's inline <style>."""
    type_rows = status_type_counts()
    chart_start = on - timedelta(days=CHART_DAYS - 1)
    health = scheduler_health()
    return {
        "type_rows": type_rows,
        "backend_rows": backend_status_totals(type_rows, account_statistics()),
        "chart_svg": snapshot_chart(start=chart_start, end=on, nonce=csp_nonce),
        "chart_start": chart_start,
        "chart_end": on,
        "chart_days": CHART_DAYS,
        "reasons": reason_counts(start=period[0], end=period[1]) if period else None,
        "health": health,
        "snapshot_schedule": scheduled(SNAPSHOT_PASS_NAME).schedule,
        "health_details": health_details(health),
    }
