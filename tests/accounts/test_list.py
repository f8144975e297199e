"""The accounts list as a support agent uses it: sorting with keyset paging both ways, the capped count, the
CSV export, the pending badge, labels and messages, and the filters kept across the Overview."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import views
from accounts.engine import account_change_status
from accounts.models import Account
from engage.clock import today
from statuses.rules import ChangeOption

from .factories import make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

NAMES = ["Charlie", "Alpha", "Bravo", "Alpha", "Delta", "Bravo", "Echo"]
TYPES = ["Active", "Prospect", "Cancelled", "Active", "Suspended", "Prospect", "Active"]


@pytest.fixture
def accounts():
    made = [make_account(name=name, email=f"c{i}@example.com", type_name=kind)
            for i, (name, kind) in enumerate(zip(NAMES, TYPES, strict=True))]
    return Account.objects.select_related("status_type").filter(pk__in=[a.pk for a in made])


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)


def _get(client, query=""):
    response = client.get(f"/accounts/?{query}")
    return response, response.content.decode()


def _ids(response):
    return [a.pk for a in response.context["accounts"]]


def _link(html, text):
    """The query of the page link with this text, as the browser would follow it (None when absent)."""
    for href, label in _links(html):
        if label == text:
            return href
    return None


def _links(html):
    return [(unescape(href).removeprefix("?"), label)
            for href, label in re.findall(r'<a class="btn[^"]*" href="([^"]*)"[^>]*>([^<]+)</a>', html)]


def _expected(accounts, sort):
    key = {
        "number": lambda a: (a.pk,),
        "created": lambda a: (a.pk,),
        "name": lambda a: (a.name, a.pk),
        "status": lambda a: (a.status_type.name, a.pk),
    }[sort.removeprefix("-")]
    return [a.pk for a in sorted(accounts, key=key, reverse=sort.startswith("-"))]


def _walk_forward(client, query):
    """Every page from the first by Next page: the ids of each page, and each page's query."""
    pages, queries = [], []
    while query is not None:
        response, html = _get(client, query)
        assert response.status_code == 200, html
        pages.append(_ids(response))
        queries.append(query)
        query = _link(html, "Next page")
    return pages, queries


@pytest.mark.parametrize("sort", ["number", "-number", "name", "-name", "status", "-status", "created", "-created"])
def test_each_sort_pages_through_every_account_once_in_order(support_client, accounts, small_pages, sort):
    pages, _queries = _walk_forward(support_client, f"sort={sort}")
    assert len(pages) == 3 and [len(p) for p in pages] == [3, 3, 1]
    assert [pk for page in pages for pk in page] == _expected(accounts, sort)  # no overlap, no gap


def test_the_default_order_is_newest_first_with_an_arrow_and_aria_sort(support_client, accounts):
    response, html = _get(support_client)
    assert _ids(response) == sorted(a.pk for a in accounts)[::-1]
    created = ('<th scope="col" class="text-nowrap d-none d-md-table-cell" aria-sort="descending">'
               '<a class="sort-link" href="?sort=created">')
    assert f"{created}Created" in html
    assert html.count("aria-sort=") == 1
    response, html = _get(support_client, "sort=name&q=a")
    name = 'aria-sort="ascending"><a class="sort-link" href="?q=a&amp;sort=-name">Name <span aria-hidden="true">▲'
    assert name in html
    assert 'href="?q=a&amp;sort=number">Number' in html  # a header keeps the search and drops the page


@pytest.mark.parametrize("sort", ["name", "-status", "-created"])
def test_previous_page_is_exactly_the_page_before(support_client, accounts, small_pages, sort):
    pages, queries = _walk_forward(support_client, f"sort={sort}")
    for index in (2, 1):
        _response, html = _get(support_client, queries[index])
        previous = _link(html, "Previous page")
        response, html = _get(support_client, previous)
        assert _ids(response) == pages[index - 1]
        assert (_link(html, "Previous page") is None) == (index == 1)
        assert _link(html, "Next page") is not None
    _response, html = _get(support_client, queries[0])
    assert _link(html, "Previous page") is None and _link(html, "First page") is None
    _response, html = _get(support_client, queries[2])
    assert _ids(_get(support_client, _link(html, "First page"))[0]) == pages[0]


@pytest.mark.parametrize("query", [
    "sort=bogus", "sort=--name", "sort=name&after=Alpha", "sort=name&after=Alpha|x", "after=Alpha|3",
    "after=%C2%B2", f"sort=name&after={'x' * 300}|1", "after=1&before=2", "sort=status&before=|",
    "after=" + "9" * 30,
])
def test_a_bad_sort_or_page_link_shows_the_first_page_politely(support_client, accounts, query):
    response, html = _get(support_client, query)
    assert response.status_code == 400
    assert "not valid" in html or "not one this list offers" in html
    assert len(_ids(response)) == len(accounts)  # the first page, not an empty one


def test_a_stale_marker_past_either_end_is_not_an_error(support_client, accounts, small_pages):
    newest = max(a.pk for a in accounts)
    response, _html = _get(support_client, f"before={newest + 100}")
    assert response.status_code == 200 and len(_ids(response)) == 3
    response, html = _get(support_client, "after=1")
    assert response.status_code == 200 and _ids(response) == [] and _link(html, "First page") is not None


def test_count_says_one_many_or_more_than_the_cap(support_client, monkeypatch):
    make_account(name="Only One", email="one@example.com")
    assert "1 account<" in _get(support_client)[1]
    for i in range(3):
        make_account(name=f"More {i}", email=f"more{i}@example.com")
    assert "4 accounts<" in _get(support_client)[1]
    assert "3 accounts<" in _get(support_client, "q=More")[1]
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    assert "more than 3 accounts" in _get(support_client)[1]
    assert "3 accounts<" in _get(support_client, "q=More")[1]


def test_count_wording_at_the_real_cap():
    assert views._count_text(1000) == "1000 accounts"
    assert views._count_text(1001) == "more than 1,000 accounts"


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_streams_the_filtered_sorted_list_as_csv(support_client, accounts):
    _response, html = _get(support_client, "q=a&sort=-name&status_type=" + str(status_type("Active").pk))
    export = unescape(re.search(r'href="(/accounts/export\.csv\?[^"]*)"', html).group(1))
    assert export == f"/accounts/export.csv?q=a&sort=-name&status_type={status_type('Active').pk}"
    response = support_client.get(export)
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse) and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="accounts.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["Number", "Name", "E-mail", "Bill day", "Status type", "Back-end status", "Created"]
    active = [a for a in accounts if a.status_type.name == "Active" and "a" in a.name.lower()]
    expected = sorted(active, key=lambda a: (a.name, a.pk), reverse=True)
    assert [r[0] for r in rows[1:]] == [a.number for a in expected]
    first = expected[0]
    assert rows[1][1:6] == [first.name, first.email, str(first.bill_day), "Active", "Active"]
    assert rows[1][6] == timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M")


def test_export_guards_against_formulas(support_client):
    for i, name in enumerate(["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "Plain"]):
        make_account(name=name, email=f"f{i}@example.com")
    names = [row[1] for row in _csv(support_client.get("/accounts/export.csv?sort=created"))[1:]]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "Plain"]


def test_export_refuses_bad_filters_without_a_500(support_client):
    assert support_client.get("/accounts/export.csv?status_type=999").status_code == 400
    assert support_client.get("/accounts/export.csv?sort=bogus").status_code == 400


def test_export_is_for_support_and_signs_out_are_sent_to_sign_in(client, support_user):
    make_account()
    response = client.get("/accounts/export.csv")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    client.force_login(support_user)
    assert client.get("/accounts/export.csv").status_code == 200


def _schedule(account, type_name, days):
    return account_change_status(account_id=account.pk, to_type=status_type(type_name),
                                 option=ChangeOption.SPECIFIC_DATE, effective_date=today() + timedelta(days=days),
                                 reason=reason("Non-payment"))


def test_the_earliest_pending_change_is_a_badge(support_client):
    waiting = make_account(name="Waiting", email="w@example.com")
    make_account(name="Calm", email="calm@example.com")
    _schedule(waiting, "Cancelled", 20)
    _schedule(waiting, "Suspended", 10)
    _response, html = _get(support_client)
    soon = (today() + timedelta(days=10)).isoformat()
    assert html.count('data-testid="pending-badge"') == 1
    assert f"Pending: Suspended on {soon}</span>" in html


def test_search_and_filters_have_labels_and_a_bad_value_says_what_to_do(support_client):
    _response, html = _get(support_client)
    for field, label in [("q", "Search"), ("status_type", "Status type"), ("backend_status", "Back-end status")]:
        assert f'for="id_{field}">{label}</label>' in html and f'id="id_{field}"' in html
    response, html = _get(support_client, "status_type=999")
    assert response.status_code == 400
    assert 'id="id_status_type_error" data-testid="error-status_type">Pick a status type from the list.<' in html
    assert "Select a valid choice" not in html and "[invalid name]" not in html
    response, html = _get(support_client, "backend_status=deleted")
    assert response.status_code == 400 and "Pick a back-end status from the list." in html
    assert "[invalid name]" not in html


def test_the_overview_goes_back_to_the_list_as_it_was(support_client):
    account = make_account(name="Ada", email="ada@example.com")
    overview = f"/accounts/{account.pk}/"
    assert 'href="/accounts/" data-testid="back-to-list"' in support_client.get(overview).content.decode()
    _get(support_client, "q=Ada&sort=name&backend_status=active")
    html = support_client.get(overview).content.decode()
    assert 'href="/accounts/?q=Ada&amp;sort=name&amp;backend_status=active" data-testid="back-to-list"' in html
    _get(support_client, "sort=bogus")  # a refused query is not remembered
    assert "q=Ada&amp;sort=name" in support_client.get(f"/accounts/{account.pk}/tools/").content.decode()


def test_queries_do_not_grow_with_the_page(support_client, django_assert_num_queries):
    for i in range(5):
        account = make_account(name=f"Customer {i}", email=f"q{i}@example.com")
    _schedule(account, "Cancelled", 5)
    query = "sort=name&backend_status=active"
    _get(support_client, query)  # the session remembers the query once
    with CaptureQueriesContext(connection) as few:
        assert len(_ids(_get(support_client, query)[0])) == 5
    more = [make_account(name=f"Customer {i}", email=f"q{i}@example.com") for i in range(5, 60)]
    _schedule(more[5], "Suspended", 5)  # "Customer 10", on the first page by name
    with django_assert_num_queries(len(few)):
        response, html = _get(support_client, query)
    assert len(_ids(response)) == 50 and html.count('data-testid="pending-badge"') == 2
