"""Each defect of the hostile-input review (issue 13), as a user or a client would meet it: a clear 400 or
form error, nothing saved, never a 500."""


from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account, StatusChange
from billing.models import ChargeLine, Package, UsageRecord, UserPackage
from engage.api_paging import NOT_OURS
from statuses.models import AccountStatusType, StatusReason
from tests.accounts.factories import make_account, reason, status_type

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/accounts/",
    "/api/v1/packages/",
    "/api/v1/status-types/",
    "/api/v1/status-reasons/",
]


# ---------------------------------------------------------------- list paging


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", ["limit=18446744073709551616", "limit=10000000", "limit=501", "limit=0",
                                   "limit=-1", "limit=ten", "offset=-5", "offset=99999999999"])
def test_a_bad_limit_or_offset_is_a_400_on_every_list(api_support, path, query):
    if path == "/api/v1/accounts/" and query.startswith("offset"):
        query = "cursor=" + query  # the accounts list pages by cursor, not offset
    response = api_support.get(f"{path}?{query}")
    assert response.status_code == 400, (path, query, response.content)
    assert response.json()


@pytest.mark.parametrize("path", LISTS)
def test_a_limit_of_500_is_allowed(api_support, path):
    assert api_support.get(f"{path}?limit=500").status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "cD1hYmM=", "bz0tMQ=="])
def test_a_forged_cursor_is_a_400(api_support, cursor):
    make_account()
    response = api_support.get(f"/api/v1/accounts/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json() == {"cursor": [NOT_OURS]}


def test_the_cursor_the_list_gave_out_still_pages(api_support):
    for _ in range(3):
        make_account()
    first = api_support.get("/api/v1/accounts/?limit=2").json()
    second = api_support.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


# ---------------------------------------------------------------- dates out of bounds


def _change(account, day: str) -> dict:
    return {
        "status_type": status_type("Cancelled").pk,
        "option": "specific_date",
        "effective_date": day,
        "reason": reason("Non-payment").pk,
    }


@pytest.mark.parametrize("suffix", ["", "preview/"])
def test_a_change_dated_in_december_9999_is_a_400(api_support, suffix):
    account = make_account()
    response = api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/{suffix}",
                                _change(account, "9999-12-01"), format="json")
    assert response.status_code == 400
    assert response.json() == {"effective_date": ["The date must be from 1990-01-01 to 2199-12-31."]}
    assert not StatusChange.objects.exists()


def test_the_last_allowed_day_is_accepted(api_support):
    account = make_account()
    response = api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/", _change(account, "2199-12-31"),
                                format="json")
    assert response.status_code == 201 and response.json()["state"] == "pending"


def test_components_add_refuses_december_9999_on_the_form(support_client):
    account = make_account()
    response = support_client.post(f"/accounts/{account.pk}/components/add/", {
        "status_type": status_type("Cancelled").pk,
        "effective_date": "9999-12-01",
        "reason": reason("Non-payment").pk,
        "version": account.version,
    })
    assert response.status_code == 400
    assert "The date must be from 1990-01-01 to 2199-12-31." in response.content.decode()
    assert not StatusChange.objects.exists()


def test_a_statistics_period_in_year_1_is_refused_on_the_page_and_the_api(support_client, api_support):
    page = support_client.get("/statistics/?end=0001-01-01")
    assert page.status_code == 400
    assert "The end of the period must be from 1990-01-01 to 2199-12-31." in page.content.decode()
    api = api_support.get("/api/v1/statistics/?end=0001-01-01")
    assert api.status_code == 400
    assert api.json() == {"end": ["The end of the period must be from 1990-01-01 to 2199-12-31."]}
    assert api_support.get("/api/v1/statistics/?start=1990-01-01&end=2199-12-31").status_code == 200


def test_a_package_or_usage_dated_0001_01_01_is_refused(api_support):
    account = make_account()
    package = Package.objects.create(name="Fibre", price=Decimal("30.00"))
    sold = api_support.post(f"/api/v1/accounts/{account.pk}/packages/",
                            {"package": package.pk, "start_date": "0001-01-01"}, format="json")
    assert sold.status_code == 400
    assert sold.json() == {"start_date": ["Start date must be from 1990-01-01 to 2199-12-31."]}
    usage = api_support.post(f"/api/v1/accounts/{account.pk}/usage/",
                             {"amount": "1.00", "occurred_on": "0001-01-01"}, format="json")
    assert usage.status_code == 400
    assert usage.json() == {"occurred_on": ["Date must be from 1990-01-01 to 2199-12-31."]}
    assert not UserPackage.objects.exists() and not UsageRecord.objects.exists()


def test_a_pass_command_refuses_a_date_out_of_bounds():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--date must be from 1990-01-01 to 2199-12-31"):
        call_command("run_billing_pass", "--date", "1900-01-01")


# ---------------------------------------------------------------- money and quantity


def test_the_old_overflowing_package_is_refused(api_admin, api_support):
    huge = api_admin.post("/api/v1/packages/", {"name": "Huge", "price": "9999999999.99"}, format="json")
    assert huge.status_code == 400 and "price" in huge.json()
    account = make_account()
    package = Package.objects.create(name="Fibre", price=Decimal("30.00"))
    many = api_support.post(f"/api/v1/accounts/{account.pk}/packages/",
                            {"package": package.pk, "quantity": 100_000}, format="json")
    assert many.status_code == 400 and "quantity" in many.json()
    assert not UserPackage.objects.exists()


def test_the_largest_allowed_package_bills_without_overflow(api_admin, api_support):
    """999,999.99 × 10,000, twice on one account: each line fits its column, the invoice its total."""
    account = make_account(bill_day=1)
    package = api_admin.post("/api/v1/packages/", {"name": "Max", "price": "999999.99"}, format="json").json()
    start = timezone.localdate().replace(day=1).isoformat()
    for _ in range(2):
        sold = api_support.post(f"/api/v1/accounts/{account.pk}/packages/",
                                {"package": package["id"], "quantity": 10_000, "start_date": start}, format="json")
        assert sold.status_code == 201, sold.json()
    billed = api_support.post(f"/api/v1/accounts/{account.pk}/bill/")
    assert billed.status_code in (200, 201), billed.content
    amounts = sorted(ChargeLine.objects.filter(account=account).values_list("amount", flat=True))
    assert amounts == [Decimal("9999999900.00"), Decimal("9999999900.00")]
    assert billed.json()["invoice"]["total"] == "19999999800.00"


# ---------------------------------------------------------------- names and notes


SPOOFED = "Invoice \u202egpj.exe"
NOW = "immediately_with_no_transaction"


def test_hidden_characters_are_refused_in_every_name_and_note(api_admin, api_support, admin_client):
    account = make_account()
    answers = {
        "account": api_support.post("/api/v1/accounts/", {"name": SPOOFED, "email": "a@example.com", "bill_day": 1},
                                    format="json"),
        "account edit": api_support.patch(f"/api/v1/accounts/{account.pk}/", {"name": "Zero\u200bwidth"},
                                          format="json"),
        "status type": api_admin.post("/api/v1/status-types/", {"name": SPOOFED, "backend_status": "active"},
                                      format="json"),
        "reason": api_admin.post("/api/v1/status-reasons/", {"name": SPOOFED, "backend_statuses": ["cancelled"]},
                                 format="json"),
        "package": api_admin.post("/api/v1/packages/", {"name": SPOOFED, "price": "1.00"}, format="json"),
        "note": api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/",
                                 {**_change(account, timezone.localdate().isoformat()), "option": NOW,
                                  "note": "bell \u0007"}, format="json"),
        "usage": api_support.post(f"/api/v1/accounts/{account.pk}/usage/",
                                  {"amount": "1.00", "occurred_on": "2020-01-01", "description": SPOOFED},
                                  format="json"),
    }
    for what, response in answers.items():
        assert response.status_code == 400, (what, response.content)
        assert "U+202E" in str(response.json()) or "U+200B" in str(response.json()) or "U+0007" in str(
            response.json()), (what, response.json())
    page = admin_client.post("/setup/account-status-types/add/", {"name": SPOOFED, "backend_status": "active"})
    assert "U+202E" in page.content.decode()
    assert Account.objects.count() == 1 and Account.objects.get().name == "Test Customer"
    assert not AccountStatusType.objects.filter(name__contains="\u202e").exists()
    assert not StatusReason.objects.filter(name__contains="\u202e").exists()
    assert not Package.objects.exists() and not StatusChange.objects.exists()


def test_a_note_keeps_its_line_breaks(api_support):
    account = make_account()
    body = {**_change(account, timezone.localdate().isoformat()), "option": NOW,
            "note": "  first line\r\nsecond line  "}
    assert api_support.post(f"/api/v1/accounts/{account.pk}/status-changes/", body, format="json").status_code == 201
    assert StatusChange.objects.get().note == "first line\nsecond line"


def test_a_bad_email_is_refused(api_support):
    response = api_support.post("/api/v1/accounts/", {"name": "Ana", "email": "not-an-address", "bill_day": 1},
                                format="json")
    assert response.status_code == 400 and "email" in response.json()


# ---------------------------------------------------------------- API edges and headers


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_paths_answer_json_404(api_support, method):
    response = getattr(api_support, method)("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json() == {"detail": "Not found."}
    assert Client().get("/api/nothing").json() == {"detail": "Not found."}


def test_a_missing_slash_says_so(api_support):
    response = api_support.get("/api/v1/accounts")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found. API paths end with a slash: /api/v1/accounts/"}


def test_schema_and_docs_need_a_role(django_user_model, support_client):
    for path in ("/api/schema/", "/api/docs/"):
        assert Client().get(path).status_code == 401
    nobody = Client()
    nobody.force_login(django_user_model.objects.create_user("nobody", "n@example.com", "pw-Long-enough-1"))
    assert nobody.get("/api/schema/").status_code == 403 and nobody.get("/api/docs/").status_code == 403
    assert support_client.get("/api/schema/").status_code == 200
    docs = support_client.get("/api/docs/")
    assert docs.status_code == 200 and "<script" in docs.content.decode()


def test_every_operation_documents_its_error_answers(support_client):
    schema = support_client.get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "429"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert "400" in codes, (method, path)
    assert "409" in schema["paths"]["/api/v1/status-changes/{id}/"]["delete"]["responses"]


def test_pages_send_a_content_security_policy_and_a_permissions_policy(support_client):
    response = support_client.get("/accounts/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert response.status_code == 200


def test_a_negative_usage_is_an_adjustment_that_bills_as_a_credit(api_support):
    account = make_account(bill_day=1)
    response = api_support.post(f"/api/v1/accounts/{account.pk}/usage/",
                                {"amount": "-12.50", "occurred_on": "2020-01-01", "description": "outage refund"},
                                format="json")
    assert response.status_code == 201, response.json()
    billed = api_support.post(f"/api/v1/accounts/{account.pk}/bill/")
    assert billed.json()["invoice"]["total"] == "-12.50"


@pytest.mark.parametrize("after", ["²", "9" * 30, "-1", "1e3"])
def test_a_forged_page_marker_on_the_accounts_list_is_not_a_500(support_client, after):
    make_account()
    response = support_client.get(f"/accounts/?after={after}")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("version", ["²", "9" * 30])
def test_a_forged_version_on_the_status_form_is_not_a_500(support_client, version):
    account = make_account()
    target = status_type("Cancelled")
    response = support_client.get(f"/accounts/{account.pk}/status/{target.pk}/?version={version}")
    assert response.status_code == 200
