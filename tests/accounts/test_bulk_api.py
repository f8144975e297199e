"""The bulk status change through the API (SPEC §5, §9): submit a dry run, read it, save it, list the
skipped accounts; the same request again; bad bodies are 400, wrong states 409."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.bulk.services import bulk_change_run
from accounts.models import Account, BulkStatusJob

from .factories import give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db

URL = "/api/v1/bulk-status-changes/"


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(datetime(2031, 2, 20, 12, tzinfo=UTC), tick=True)


def _accounts(n, type_name="Active"):
    accounts = [make_account(type_name=type_name, bill_day=15, email=f"api{type_name}{i}@example.com")
                for i in range(n)]
    for account in accounts:
        give_package(account, price="30.00", start=date(2031, 1, 15), next_bill=date(2031, 3, 15))
    return accounts


def _body(**extra):
    return {"status_type": status_type("Suspended").pk, "option": "immediately_with_prorated_transaction",
            "reason": reason("Non-payment").pk, "note": "api", **extra}


def test_dry_run_then_save_then_skipped(api_support):
    active, suspended = _accounts(2), _accounts(1, "Suspended")
    numbers = [a.number for a in active + suspended] + ["NO-SUCH"]
    answer = api_support.post(URL, _body(numbers=numbers), format="json")
    assert answer.status_code == 201, answer.json()
    job_id = answer.json()["id"]
    assert (answer.json()["state"], answer.json()["collected"]) == ("checking", False)
    bulk_change_run(job_id)  # the worker
    job = api_support.get(f"{URL}{job_id}/").json()
    assert (job["state"], job["total"], job["checked"]) == ("checked", 4, 4)
    assert job["dry_run"] == {"counts": {"applied": 2, "skipped": 2},
                              "skips": {"same_status": 1, "unknown_account": 1},
                              "totals": {"prorated_credit": str(Decimal("-49.28"))}}
    assert Account.objects.filter(status_type__name="Suspended").count() == 1  # nothing changed yet
    saved = api_support.post(f"{URL}{job_id}/save/")
    assert saved.status_code == 200 and saved.json()["state"] == "queued"
    bulk_change_run(job_id)
    job = api_support.get(f"{URL}{job_id}/").json()
    assert (job["state"], job["processed"], job["result"]["counts"]) == ("done", 4, {"applied": 2, "skipped": 2})
    skipped = api_support.get(f"{URL}{job_id}/skipped/").json()["results"]
    assert [(row["number"], row["skip_code"], row["reason"]) for row in skipped] == [
        (suspended[0].number, "same_status", "Already in that status"),
        ("NO-SUCH", "unknown_account", "Unknown account number"),
    ]
    assert api_support.post(f"{URL}{job_id}/save/").status_code == 409
    assert api_support.post(f"{URL}{job_id}/cancel/").status_code == 409
    assert api_support.get(URL).json()["results"][0]["id"] == job_id


def test_the_same_request_twice_answers_the_same_job(api_support):
    active = _accounts(2)
    first = api_support.post(URL, _body(account_ids=[a.pk for a in active], dry_run=False), format="json")
    assert first.status_code == 201 and first.json()["state"] == "queued"
    again = api_support.post(URL, _body(account_ids=[a.pk for a in reversed(active)], dry_run=False), format="json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert BulkStatusJob.objects.count() == 1


def test_a_filter_selects_every_matching_account(api_admin):
    _accounts(3)
    _accounts(2, "Cancelled")
    answer = api_admin.post(URL, _body(filter={"backend_status": "cancelled"}), format="json")
    assert answer.status_code == 201
    job = bulk_change_run(answer.json()["id"])
    assert job.total == 2 and job.dry_run["skips"] == {"option_not_allowed": 2}


@pytest.mark.parametrize("body, field", [
    ({}, "non_field_errors"),
    ({"account_ids": [1], "numbers": ["A"]}, "non_field_errors"),
    ({"account_ids": []}, "account_ids"),
    ({"account_ids": ["x"]}, "account_ids"),
    ({"numbers": []}, "numbers"),
    ({"filter": {"backend_status": "nonsense"}}, "filter"),
    ({"account_ids": [1], "reason": None}, "reason"),
    ({"account_ids": [1], "option": "sometime"}, "option"),
    ({"account_ids": list(range(1, 1003))}, "account_ids"),
])
def test_bad_bodies_are_400_and_save_nothing(api_support, body, field):
    _accounts(1)
    answer = api_support.post(URL, {**_body(), **body}, format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json(), answer.json()
    assert not BulkStatusJob.objects.exists()


def test_unknown_job_is_404_and_anonymous_401(api_support, client):
    assert api_support.get(f"{URL}999999/").status_code == 404
    assert api_support.post(f"{URL}999999/save/").status_code == 404
    assert client.get(URL).status_code == 401
