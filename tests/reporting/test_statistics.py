"""Account Statistics (SPEC §8): the sum rule, the counters, the sidebar's cost, the daily snapshot and its
chart, status changes per reason, and the statistics page and API with their bad input."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.engine import account_change_status
from engage.models import PassRun
from reporting.context_processors import sidebar
from reporting.models import StatisticsSnapshot
from reporting.selectors import account_statistics
from reporting.statistics import reason_counts, record_snapshot, snapshot_chart
from statuses.models import AccountStatusType
from tests.statuses.factories import StatusTypeFactory

from ..accounts.factories import make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

NOW = "immediately_with_no_transaction"


def change(account, type_name, *, why=None, on=None):
    return account_change_status(
        account_id=account.pk, to_type=status_type(type_name), option=NOW, reason=why and reason(why), on=on
    )


def rows():
    return [(r["backend_status"], r["label"], r["count"]) for r in account_statistics()]


def sidebar_numbers(client):
    html = client.get(reverse("accounts:list")).content.decode()
    return dict(re.findall(r'data-testid="stat-(\w+)">(\d+)<', html))


def test_sum_rule_adds_types_per_backend_status_and_follows_the_flag(support_client, api_support):
    StatusTypeFactory(name="Trial", backend_status="active")
    StatusTypeFactory(name="Grace", backend_status="active", show_in_statistics=False)
    StatusTypeFactory(name="Churned", backend_status="cancelled")
    AccountStatusType.objects.filter(name="Suspended").update(show_in_statistics=False)
    for _ in range(2):
        make_account(type_name="Active")
    make_account(type_name="Trial")
    graced = [make_account(type_name="Grace") for _ in range(2)]
    make_account(type_name="Prospect")
    change(make_account(), "Cancelled", why="Non-payment")
    change(make_account(), "Churned", why="Non-payment")
    change(graced[0], "Suspended", why="Non-payment")

    # Active + Trial (Grace is hidden); Cancelled + Churned; no suspended type shown: no Suspended row.
    assert rows() == [("active", "Active", 3), ("cancelled", "Cancelled", 2), ("prospect", "Prospect", 1)]
    assert sidebar_numbers(support_client) == {"active": "3", "cancelled": "2", "prospect": "1"}
    assert api_support.get("/api/v1/statistics/").json() == [
        {"backend_status": "active", "label": "Active", "count": 3},
        {"backend_status": "cancelled", "label": "Cancelled", "count": 2},
        {"backend_status": "prospect", "label": "Prospect", "count": 1},
    ]

    AccountStatusType.objects.filter(name__in=["Grace", "Suspended"]).update(show_in_statistics=True)
    assert rows() == [
        ("active", "Active", 4),
        ("cancelled", "Cancelled", 2),
        ("prospect", "Prospect", 1),
        ("suspended", "Suspended", 1),
    ]
    AccountStatusType.objects.filter(backend_status="cancelled").update(show_in_statistics=False)
    assert [r[0] for r in rows()] == ["active", "prospect", "suspended"]
    assert sidebar_numbers(support_client) == {"active": "4", "prospect": "1", "suspended": "1"}


def test_shown_type_without_accounts_counts_zero():
    assert rows() == [("active", "Active", 0), ("cancelled", "Cancelled", 0), ("prospect", "Prospect", 0),
                      ("suspended", "Suspended", 0)]


def _render_sidebar(user):
    request = RequestFactory().get("/accounts/")
    request.user = user
    return render_to_string("includes/sidebar.html", sidebar(request), request=request)


def _sidebar_queries(user) -> tuple[int, str]:
    user = type(user).objects.get(pk=user.pk)  # a fresh user: its role is looked up again
    with CaptureQueriesContext(connection) as ctx:
        html = _render_sidebar(user)
    return len(ctx.captured_queries), html


def test_sidebar_cost_does_not_grow_with_the_accounts(support_user, support_client):
    from provisioning.models import ProvisioningJob

    def grow_to(n):
        from accounts.models import Account

        while Account.objects.count() < n:
            make_account(name=f"Customer {Account.objects.count()}")

    grow_to(3)
    # Every branch runs: a warning to show, a backlog to count.
    ProvisioningJob.objects.create(account=make_account(), target="enabled", state="failed", last_error="timeout")
    few, html_few = _sidebar_queries(support_user)
    page_few = _page_queries(support_client)
    grow_to(30)
    many, html_many = _sidebar_queries(support_user)
    page_many = _page_queries(support_client)
    print(f"sidebar queries: {few} vs {many}; statistics page: {page_few} vs {page_many}")
    assert few == many <= 8, (few, many)
    assert page_few == page_many, (page_few, page_many)
    assert 'data-testid="stat-active">4<' in html_few and 'data-testid="stat-active">30<' in html_many
    assert "1 provisioning job failed" in html_many


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("reporting:statistics"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_sidebar_is_not_computed_for_a_page_that_does_not_show_it(support_user):
    request = RequestFactory().get("/")
    request.user = type(support_user).objects.get(pk=support_user.pk)
    with CaptureQueriesContext(connection) as ctx:
        context = sidebar(request)
    assert set(context) == {"account_statistics", "scheduler_warnings"}
    assert len(ctx.captured_queries) == 1  # the role check only; the counts are lazy


def test_no_sidebar_for_a_user_without_a_role(django_user_model):
    request = RequestFactory().get("/")
    request.user = django_user_model.objects.create_user("nobody", "n@example.com", "pw-123456789")
    assert sidebar(request) == {}


# ---------------------------------------------------------------- snapshot and chart


def test_snapshot_copies_the_counters_and_a_rerun_overwrites_the_day():
    day = date(2031, 3, 1)
    accounts = [make_account() for _ in range(3)]
    assert record_snapshot(day=day) == AccountStatusType.objects.count()
    snap = dict(StatisticsSnapshot.objects.filter(day=day).values_list("status_type__name", "count"))
    assert snap == {"Active": 3, "Cancelled": 0, "Suspended": 0, "Prospect": 0}

    change(accounts[0], "Suspended", why="Non-payment")
    record_snapshot(day=day)
    snap = dict(StatisticsSnapshot.objects.filter(day=day).values_list("status_type__name", "count"))
    assert snap == {"Active": 2, "Cancelled": 0, "Suspended": 1, "Prospect": 0}
    assert StatisticsSnapshot.objects.filter(day=day).count() == 4
    runs = PassRun.objects.filter(name="statistics_snapshot")
    assert runs.count() == 2 and all(r.succeeded and r.as_of == day for r in runs)


def test_snapshot_task_records_today(settings):
    from reporting.tasks import statistics_snapshot_task

    make_account()
    statistics_snapshot_task.delay("2031-04-02")
    assert StatisticsSnapshot.objects.get(day=date(2031, 4, 2), status_type__name="Active").count == 1


def test_chart_is_static_svg_with_a_series_per_backend_status():
    start = date(2031, 1, 1)
    accounts = [make_account() for _ in range(4)]
    record_snapshot(day=start)
    change(accounts[0], "Cancelled", why="Non-payment", on=start + timedelta(days=1))
    record_snapshot(day=start + timedelta(days=1))
    change(accounts[1], "Suspended", why="Non-payment", on=start + timedelta(days=2))
    record_snapshot(day=start + timedelta(days=2))

    svg = snapshot_chart(start=start, end=start + timedelta(days=89))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for name in ("Active", "Cancelled", "Prospect", "Suspended"):
        assert f">{name}<" in svg
    # Nothing runs, nothing loads from elsewhere.
    assert "<script" not in svg.lower()
    assert not re.search(r"(href|src)\s*=\s*[\"'](https?:)?//", svg)
    assert "<?xml" not in svg
    assert snapshot_chart(start=date(2030, 1, 1), end=date(2030, 3, 1)) == ""


def test_statistics_page_shows_counts_chart_and_an_empty_state(support_client):
    StatusTypeFactory(name="Grace", backend_status="active", show_in_statistics=False)
    make_account(type_name="Grace", name="Hidden One")
    make_account()
    response = support_client.get(reverse("reporting:statistics"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="chart-empty"' in html  # no snapshot yet
    backend = re.search(r'data-testid="backend-active">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r">(\d+)<", backend) == ["2", "1"]  # all accounts 2, the sidebar counts 1
    assert "Hidden" in html and "Grace" in html
    # Every count row leads to the accounts it counts.
    grace = AccountStatusType.objects.get(name="Grace")
    assert f'href="/accounts/?status_type={grace.pk}" data-testid="type-link-{grace.pk}">Grace</a>' in html
    assert 'href="/accounts/?backend_status=active">Active</a>' in html
    listed = support_client.get(f"/accounts/?status_type={grace.pk}").content.decode()
    assert "Hidden One" in listed and "Test Customer" not in listed

    record_snapshot(day=date.today())
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    assert 'data-testid="chart"' in html and "<svg" in html and "<script" not in html.split("<main")[1]


# ---------------------------------------------------------------- status changes per reason


def _changes_for_reasons():
    d = date(2031, 5, 10)
    a, b, c, e = (make_account(name=n) for n in "ABCE")
    change(a, "Cancelled", why="Non-payment", on=d)
    change(b, "Suspended", why="Non-payment", on=d + timedelta(days=1))
    change(b, "Cancelled", why="Fraud", on=d + timedelta(days=2))
    change(c, "Suspended", why="Non-payment", on=d + timedelta(days=40))  # outside the period
    change(a, "Active", on=d + timedelta(days=3))  # an enable without a reason
    # Scheduled, not applied: not counted.
    account_change_status(account_id=e.pk, to_type=status_type("Suspended"), option="specific_date",
                          effective_date=d + timedelta(days=5), reason=reason("Non-payment"), on=d)
    return d


def test_reason_counts_group_applied_changes_by_reason_and_target():
    d = _changes_for_reasons()
    result = reason_counts(start=d, end=d + timedelta(days=29))
    table = {(r["reason"], tuple(r["cells"])) for r in result["rows"]}
    # Columns: Active, Cancelled, Prospect, Suspended.
    assert table == {("Non-payment", (0, 1, 0, 1)), ("Fraud", (0, 1, 0, 0)), (None, (1, 0, 0, 0))}
    assert result["rows"][0]["reason"] == "Non-payment"  # the largest first
    assert result["column_totals"] == [1, 2, 0, 1] and result["total"] == 4


def test_page_and_api_show_reasons_for_a_chosen_period(support_client, api_support):
    d = _changes_for_reasons()
    query = {"start": d.isoformat(), "end": (d + timedelta(days=29)).isoformat()}
    html = support_client.get(reverse("reporting:statistics"), query).content.decode()
    table = re.search(r'data-testid="reason-counts">(.*?)</table>', html, re.S).group(1)
    assert "Non-payment" in table and "Fraud" in table and "No reason" in table
    assert re.search(r"<tfoot>.*Total.*>4</th>", table, re.S)

    body = api_support.get("/api/v1/statistics/", query).json()
    assert body["start"] == query["start"] and body["end"] == query["end"]
    assert body["statistics"] == api_support.get("/api/v1/statistics/").json()
    assert sorted((r["reason"] or "", r["backend_status"], r["count"]) for r in body["status_changes_per_reason"]) == [
        ("", "active", 1), ("Fraud", "cancelled", 1), ("Non-payment", "cancelled", 1), ("Non-payment", "suspended", 1)
    ]


def test_the_default_period_is_the_last_30_days(support_client, api_support):
    today = date.today()
    make_account()
    change(make_account(), "Cancelled", why="Fraud", on=today - timedelta(days=29))
    change(make_account(), "Cancelled", why="Non-payment", on=today - timedelta(days=30))
    response = support_client.get(reverse("reporting:statistics"))
    html = response.content.decode()
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in html
    table = re.search(r'data-testid="reason-counts">(.*?)</table>', html, re.S).group(1)
    assert "Fraud" in table and "Non-payment" not in table
    body = api_support.get("/api/v1/statistics/", {"end": today.isoformat()}).json()
    assert [r["reason"] for r in body["status_changes_per_reason"]] == ["Fraud"]
    assert body["start"] == (today - timedelta(days=29)).isoformat()


@pytest.mark.parametrize(
    "query, message, api_field, api_message",
    [
        ({"start": "2031-03-10", "end": "2031-03-01"}, "ends (2031-03-01) before it starts (2031-03-10)", "end",
         "ends (2031-03-01) before it starts (2031-03-10)"),
        ({"start": "2031-02-30"}, "From: The start of the period must be a date (YYYY-MM-DD).", "start",
         "The start of the period must be a date (YYYY-MM-DD)."),
        ({"start": "yesterday", "end": "2031-03-01"}, "From: The start of the period must be a date (YYYY-MM-DD).",
         "start", "The start of the period must be a date (YYYY-MM-DD)."),
        ({"end": "2031-13-01"}, "To: The end of the period must be a date (YYYY-MM-DD).", "end",
         "The end of the period must be a date (YYYY-MM-DD)."),
    ],
)
def test_bad_period_is_a_clear_400_on_the_page_and_in_the_api(
    support_client, api_support, query, message, api_field, api_message
):
    make_account()
    response = support_client.get(reverse("reporting:statistics"), query)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(r'data-testid="period-errors">(.*?)</div></div>', html, re.S).group(1)
    assert message in errors
    assert 'data-testid="reason-counts"' not in html
    assert 'data-testid="backend-counts"' in html  # the rest of the page still shows

    api = api_support.get("/api/v1/statistics/", query)
    assert api.status_code == 400
    body = api.json()
    assert list(body) == [api_field] and api_message in body[api_field][0]


def test_statistics_needs_a_role(client, django_user_model):
    assert client.get(reverse("reporting:statistics")).status_code == 302
    assert client.get("/api/v1/statistics/").status_code in (401, 403)
    client.force_login(django_user_model.objects.create_user("nobody", "n@example.com", "pw-123456789"))
    assert client.get(reverse("reporting:statistics")).status_code == 403
    assert client.get("/api/v1/statistics/").status_code == 403


def test_type_names_are_escaped_on_the_page(admin_client):
    StatusTypeFactory(name="<b>Bold</b>", backend_status="active")
    html = admin_client.get(reverse("reporting:statistics")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html and "<b>Bold</b>" not in html
