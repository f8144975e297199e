"""Bulk status change (SPEC §5): choose accounts (ticked, the list's filter, a file), the dry run, the job
run through the engine's batch path, cancel, resume, the skipped accounts, and the same request twice."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.bulk import services as bulk
from accounts.bulk.services import bulk_change_cancel, bulk_change_run, bulk_change_start, bulk_change_submit
from accounts.engine import account_change_status
from accounts.models import Account, BulkStatusItem, BulkStatusJob, StatusChange
from billing.models import ChargeLine
from engage.errors import DomainError
from engage.models import AuditEntry, OutboxMessage
from provisioning.models import ProvisioningJob
from statuses.rules import StatusChangeState
from tests.killing import killed_at

from .factories import change_status, give_package, make_account, reason, status_type

pytestmark = pytest.mark.django_db


def _flat(params):
    for value in params or ():
        if isinstance(value, list | tuple):
            yield from _flat(value)
        elif isinstance(value, str) and value.startswith("{") and value.endswith("}"):  # an array literal of ids
            yield from (int(part) for part in value[1:-1].split(",") if part.isdigit())
        else:
            yield value

TODAY = date(2031, 2, 20)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(datetime(2031, 2, 20, 12, tzinfo=UTC), tick=True)


def _accounts(n, *, first=0, type_name="Active", price="30.00"):
    accounts = []
    for i in range(first, first + n):
        account = make_account(type_name=type_name, bill_day=15, email=f"bulk{i}@example.com", name=f"Bulk {i}")
        give_package(account, price=price, start=date(2031, 1, 15), next_bill=date(2031, 3, 15), name=f"P{price}")
        accounts.append(account)
    return accounts


def _suspend(user, *, worker=True, **selection):
    """Submit a suspension (a dry run); the worker's part runs it, as the task would after commit."""
    job, created = bulk_change_submit(actor=user, to_type=status_type("Suspended"),
                                      option="immediately_with_prorated_transaction", reason=reason("Non-payment"),
                                      note="wave", **selection)
    return (bulk_change_run(job.pk) if worker else job), created


def _save(job, user=None):
    bulk_change_start(job.pk, actor=user)
    return bulk_change_run(job.pk)


def test_a_dry_run_counts_skips_and_totals_and_changes_nothing(admin_user):
    active = _accounts(3)
    already = _accounts(1, first=3, type_name="Suspended")
    changes_before = StatusChange.objects.count()
    job, created = _suspend(admin_user, account_ids=[a.pk for a in active + already])
    assert created and job.state == BulkStatusJob.State.CHECKED
    assert job.dry_run["counts"] == {"applied": 3, "skipped": 1}
    assert job.dry_run["skips"] == {"same_status": 1}
    assert job.dry_run["totals"] == {"prorated_credit": str(Decimal("-24.64") * 3)}  # 30.00 × 23/28 each
    assert StatusChange.objects.count() == changes_before
    assert not ChargeLine.objects.filter(kind="prorated_credit").exists()


def test_save_runs_every_account_through_the_engine(admin_user):
    active = _accounts(3)
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])
    job = _save(job, admin_user)
    assert job.state == BulkStatusJob.State.DONE and job.processed == 3
    assert job.result["counts"] == {"applied": 3}
    ids = [a.pk for a in active]
    assert set(Account.objects.filter(pk__in=ids).values_list("status_type__name", flat=True)) == {"Suspended"}
    assert StatusChange.objects.filter(account_id__in=ids, to_type__name="Suspended", note="wave",
                                       state=StatusChangeState.APPLIED).count() == 3
    assert ChargeLine.objects.filter(account_id__in=ids, kind="prorated_credit", amount=Decimal("-24.64")).count() == 3
    assert ProvisioningJob.objects.filter(account_id__in=ids, target="suspended").count() == 3
    assert OutboxMessage.objects.filter(kind="accounts.status_email").count() >= 3
    assert AuditEntry.objects.filter(action="bulk_status_change", object_id=job.pk).count() == 1


def test_a_decision_made_after_the_dry_run_is_never_overridden(admin_user, support_client):
    # A person cancels one account by hand after the bulk change's dry run and before the bulk reaches it; a
    # second gets a pending change: the run leaves both as they are, skipped and listed (SPEC §5: one wins,
    # nothing of the other is applied over it).
    active = _accounts(4)
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])
    assert job.dry_run["counts"] == {"applied": 4}
    change_status(active[1], "Cancelled")
    account_change_status(account_id=active[2].pk, to_type=status_type("Cancelled"), option="period_end",
                          reason=reason("Customer request"))
    job = _save(job, admin_user)
    assert job.result["counts"] == {"applied": 2, "skipped": 2} and job.result["skips"] == {"changed": 2}
    names = dict(Account.objects.filter(pk__in=[a.pk for a in active]).values_list("pk", "status_type__name"))
    assert [names[a.pk] for a in active] == ["Suspended", "Cancelled", "Active", "Suspended"]
    assert list(bulk.skip_rows(job).values_list("account_id", "skip_code")) == [(active[1].pk, "changed"),
                                                                               (active[2].pk, "changed")]
    page = support_client.get(reverse("accounts:bulk-skipped", args=[job.pk])).content.decode()
    assert "Changed since the dry run" in page and "changed after the dry run" in page


def test_the_same_request_twice_is_the_same_job_and_changes_nothing_more(admin_user):
    active = _accounts(2)
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])
    _save(job, admin_user)
    changes = StatusChange.objects.count()
    again, created = _suspend(admin_user, account_ids=[a.pk for a in reversed(active)])
    assert (again.pk, created) == (job.pk, False)
    assert StatusChange.objects.count() == changes
    # Asked anew by someone else, the engine skips them: they already have that status.
    other, created = _suspend(None, account_ids=[a.pk for a in active])
    assert created and other.dry_run["skips"] == {"same_status": 2}


def test_selection_by_filter_and_by_file_with_an_unknown_number(admin_user):
    active = _accounts(3)
    _accounts(2, first=3, type_name="Cancelled")
    job, _ = _suspend(admin_user, filter_params={"backend_status": "active"})
    assert job.total == Account.objects.filter(status_type__backend_status="active").count()
    assert job.selection_text == "Matching: backend status active"
    numbers = [a.number for a in active[:2]] + ["NOPE-1"]
    job, _ = _suspend(admin_user, csv_numbers=numbers)
    assert (job.total, job.dry_run["counts"], job.dry_run["skips"]) == (3, {"applied": 2, "skipped": 1},
                                                                        {"unknown_account": 1})
    item = job.items.get(number="NOPE-1")
    assert (item.account_id, item.state, item.message) == (None, "skipped", "No account with number NOPE-1.")


@pytest.mark.parametrize("raw, message", [
    (b"", "The file holds no account numbers."),
    (b"number\n\n", "The file holds no account numbers."),
    (b"\xff\xfe\x00bad", "The file is not UTF-8 text"),
    (b"A-1\nB\x07C\n", "is not an account number"),
    (b"x" * (bulk.MAX_CSV_BYTES + 1), "The file is larger than"),
])
def test_a_bad_file_is_refused_with_a_message(raw, message):
    with pytest.raises(DomainError) as err:
        bulk.parse_numbers(raw)
    assert message in err.value.message and err.value.field == "file"


def test_a_request_refused_for_every_account_saves_nothing(admin_user):
    active = _accounts(1)
    with pytest.raises(DomainError) as err:
        bulk_change_submit(actor=admin_user, account_ids=[active[0].pk], to_type=status_type("Suspended"),
                           option="immediately_with_prorated_transaction")
    assert err.value.field == "reason"
    with pytest.raises(DomainError):
        bulk_change_submit(actor=admin_user, account_ids=[active[0].pk], to_type=status_type("Active"),
                           option="specific_date", effective_date=TODAY - timedelta(days=1))
    assert not BulkStatusJob.objects.exists()


def test_cancel_stops_after_the_chunk_and_keeps_what_was_changed(admin_user, support_client, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    active = _accounts(5)
    already = _accounts(1, first=5, type_name="Suspended")[0]  # last in the selection: the dry run skips it
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active] + [already.pk])
    assert job.dry_run["skips"] == {"same_status": 1}
    cancelled = []

    def cancel_after_the_first_chunk(execute, sql, params, many, context):
        # Someone presses Cancel while the first chunk runs: their request waits for the job row and lands
        # right after the chunk's own save of the job, before the chunk commits.
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "accounts_bulkstatusjob"') and '"processed"' in sql and not cancelled:
            cancelled.append(bulk_change_cancel(job.pk, actor=admin_user))
        return result

    with connection.execute_wrapper(cancel_after_the_first_chunk):
        job = _save(job, admin_user)
    assert job.state == BulkStatusJob.State.CANCELLED and job.processed == 2
    assert job.result["counts"] == {"applied": 2}
    assert list(Account.objects.filter(pk__in=[a.pk for a in active], status_type__name="Suspended")
                .order_by("pk").values_list("pk", flat=True)) == [a.pk for a in active[:2]]
    # The run never reached the account the dry run skipped: the result lists no skipped account.
    assert not bulk.skip_rows(job).exists()
    page = support_client.get(reverse("accounts:bulk-job", args=[job.pk])).content.decode()
    assert "Cancelled" in page and "Processed 2 of 6 accounts" in page and 'data-testid="count-applied">2<' in page
    assert "<td>Prorated credit</td>" in page  # the kind's label, not its code


def test_a_crashed_run_resumes_after_the_last_chunk_that_committed(admin_user, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    active = _accounts(5)
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])
    bulk_change_start(job.pk, actor=admin_user)
    # The worker dies as it reads the second chunk's accounts.
    with pytest.raises(KeyboardInterrupt), killed_at('"accounts_bulkstatusitem"."position" >=', 2):
        bulk_change_run(job.pk)
    assert Account.objects.filter(pk__in=[a.pk for a in active], status_type__name="Suspended").count() == 2
    job = bulk_change_run(job.pk)  # redelivered
    assert job.state == BulkStatusJob.State.DONE and job.result["counts"] == {"applied": 5}
    assert StatusChange.objects.filter(account__in=active, to_type__name="Suspended").count() == 5
    assert ChargeLine.objects.filter(account__in=active, kind="prorated_credit").count() == 5


def test_cancel_or_save_in_the_wrong_state_is_a_conflict(admin_user):
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in _accounts(1)])
    _save(job)
    with pytest.raises(DomainError) as err:
        bulk_change_start(job.pk)
    assert err.value.status_code == 409
    with pytest.raises(DomainError):
        bulk_change_cancel(job.pk)


# --- Pages -------------------------------------------------------------------------------------------------


def test_the_list_hands_ticked_rows_and_the_filter_to_the_bulk_page(support_client):
    active = _accounts(2)
    page = support_client.get(reverse("accounts:list"))
    assert 'data-testid="bulk-ticked"' in page.content.decode() and 'name="ids"' in page.content.decode()
    url = reverse("accounts:bulk-status")
    page = support_client.get(url, {"ids": [a.pk for a in active]})
    assert page.status_code == 200 and "2 ticked accounts" in page.content.decode()
    page = support_client.get(url, {"all": "1", "backend_status": "active"})
    assert "Every account matching the list&#x27;s filter (Back-end status: active)" in page.content.decode()
    assert support_client.get(url, {"ids": ["x"]}).status_code == 400


def test_the_page_flow_dry_run_save_and_skipped(support_client, django_capture_on_commit_callbacks):
    active = _accounts(2)
    suspended = _accounts(1, first=2, type_name="Suspended")
    url = reverse("accounts:bulk-status")
    data = {"ids": [a.pk for a in active + suspended], "status_type": status_type("Suspended").pk,
            "option": "immediately_with_prorated_transaction", "reason": reason("Non-payment").pk, "note": "page"}
    # After commit the job goes to a worker (the outbox, then its task; eager in tests).
    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(url, data)
    assert response.status_code == 302
    job = BulkStatusJob.objects.get()
    page = support_client.get(response["Location"]).content.decode()
    assert "Checked: ready to save" in page and "Already in that status" in page and "-49.28" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert support_client.post(reverse("accounts:bulk-save", args=[job.pk])).status_code == 302
    page = support_client.get(reverse("accounts:bulk-job", args=[job.pk])).content.decode()
    assert "Done" in page and 'data-testid="count-applied">2<' in page
    skipped = support_client.get(reverse("accounts:bulk-skipped", args=[job.pk])).content.decode()
    assert suspended[0].number in skipped and "Already in that status" in skipped
    csv_text = b"".join(support_client.get(reverse("accounts:bulk-skipped-export", args=[job.pk])).streaming_content)
    assert csv_text.decode().splitlines()[1].startswith(f"{suspended[0].number},{suspended[0].pk},Already in that")
    # Saving twice is a conflict, shown on the page.
    assert support_client.post(reverse("accounts:bulk-save", args=[job.pk])).status_code == 409


def test_the_page_shows_errors_beside_the_fields_and_saves_nothing(support_client):
    url = reverse("accounts:bulk-status")
    response = support_client.post(url, {"status_type": status_type("Suspended").pk,
                                         "option": "immediately_with_prorated_transaction"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page  # the file, when no account was ticked
    upload = SimpleUploadedFile("numbers.csv", b"number\nX-1\n", content_type="text/csv")
    response = support_client.post(url, {"status_type": status_type("Suspended").pk, "file": upload,
                                         "option": "immediately_with_prorated_transaction"})
    assert response.status_code == 400 and "A reason is required" in response.content.decode()
    assert not BulkStatusJob.objects.exists()


def test_the_skipped_page_costs_the_same_for_5_and_60_skipped(support_client, admin_user):
    counts = []
    for n in (5, 60):
        accounts = _accounts(n, first=len(counts) * 100, type_name="Suspended")
        job, _ = _suspend(admin_user, account_ids=[a.pk for a in accounts])
        with CaptureQueriesContext(connection) as queries:
            page = support_client.get(reverse("accounts:bulk-skipped", args=[job.pk]))
        assert page.content.decode().count("Already in that status") == n
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_anonymous_is_sent_to_login_and_a_user_without_a_role_is_refused(client, django_user_model):
    url = reverse("accounts:bulk-status")
    assert client.get(url).status_code == 302
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(url).status_code == 403


def test_the_worker_writes_the_items_in_selection_order(admin_user):
    accounts = _accounts(3)
    job, _ = _suspend(admin_user, worker=False, csv_numbers=[accounts[2].number, accounts[0].number])
    # The request stores the selection as asked; resolving it is the worker's (a filter may match a million).
    assert (job.collected, job.total, job.items.count()) == (False, 0, 0)
    job = bulk_change_run(job.pk)
    assert (job.collected, job.total, job.checked) == (True, 2, 2)
    assert list(job.items.order_by("position").values_list("account_id", flat=True)) == [accounts[2].pk,
                                                                                        accounts[0].pk]
    assert BulkStatusItem.objects.filter(job=job).count() == 2


def test_code_may_pass_more_ids_than_the_page_ticks(admin_user):
    active = _accounts(3)
    unknown = list(range(10_000_000, 10_000_000 + bulk.MAX_TICKED + 500))
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active] + unknown)
    assert job.total == 3 + len(unknown)
    assert job.dry_run["counts"] == {"applied": 3, "skipped": len(unknown)}
    assert job.dry_run["skips"] == {"unknown_account": len(unknown)}


def test_a_selection_over_the_bound_fails_the_job_with_a_message(admin_user, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_ACCOUNTS", 2)
    _accounts(3)
    job, _ = _suspend(admin_user, filter_params={"backend_status": "active"})
    assert job.state == BulkStatusJob.State.FAILED and "More than 2 accounts match" in job.error
    assert (job.total, job.items.count(), StatusChange.objects.filter(note="wave").count()) == (0, 0, 0)


def test_a_filter_that_matches_nothing_is_refused_at_once(admin_user):
    _accounts(1)
    with pytest.raises(DomainError) as err:
        _suspend(admin_user, filter_params={"q": "no such customer anywhere"})
    assert err.value.message == "No account matches: nothing to change."
    assert not BulkStatusJob.objects.exists()


def test_the_page_carries_the_lists_filter_apart_from_the_new_status(support_client):
    active = _accounts(2)
    cancelled = _accounts(1, first=2, type_name="Cancelled")
    url = reverse("accounts:bulk-status")
    page = support_client.get(url, {"all": "1", "status_type": status_type("Active").pk}).content.decode()
    assert 'name="filter_status_type"' in page and 'name="all" value="1"' in page
    assert "Every account matching the list&#x27;s filter (Status type: Active)" in page
    # Step 2's own status_type is the new status; the list's filter comes as filter_status_type.
    response = support_client.post(url, {
        "all": "1", "filter_status_type": status_type("Active").pk, "status_type": status_type("Suspended").pk,
        "option": "immediately_with_prorated_transaction", "reason": reason("Non-payment").pk,
    })
    assert response.status_code == 302
    job = bulk_change_run(BulkStatusJob.objects.get().pk)
    assert job.selection_params == {"filter": {"status_type": str(status_type("Active").pk)}}
    assert set(job.items.values_list("account_id", flat=True)) == {a.pk for a in active}
    assert cancelled[0].pk not in set(job.items.values_list("account_id", flat=True))
    assert job.dry_run["counts"] == {"applied": 2}


def test_collecting_goes_in_steps_and_resumes_after_a_crash(admin_user, monkeypatch):
    monkeypatch.setattr(bulk, "COLLECT_STEP", 2)
    _accounts(5)
    job, _ = _suspend(admin_user, worker=False, filter_params={"backend_status": "active"})
    # The worker dies as it starts the second step (each step first reads where the last one stopped).
    with pytest.raises(KeyboardInterrupt), killed_at('"accounts_bulkstatusitem"."account_id" AS "account_id" FROM', 2):
        bulk_change_run(job.pk)
    job.refresh_from_db()
    assert (job.collected, job.total, job.items.count()) == (False, 2, 2)  # the first step committed
    job = bulk_change_run(job.pk)  # redelivered: goes on after the last account written
    expected = list(Account.objects.filter(status_type__backend_status="active").order_by("pk")
                    .values_list("pk", flat=True))
    assert list(job.items.order_by("position").values_list("account_id", flat=True)) == expected
    assert (job.state, job.total, job.dry_run["counts"]) == ("checked", len(expected), {"applied": len(expected)})


def test_an_account_that_breaks_its_chunk_is_skipped_with_the_error_and_the_others_change(admin_user, support_client,
                                                                                           monkeypatch):
    active = _accounts(4)
    bad = active[1].pk
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])

    def the_disk_is_full_for_the_bad_account(execute, sql, params, many, context):
        # A real failing statement: the write of the bad account's new status.
        if 'UPDATE "accounts_account" AS t SET status_type_id' in sql and bad in _flat(params):
            raise OperationalError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(the_disk_is_full_for_the_bad_account):
        job = _save(job, admin_user)
    assert (job.state, job.processed, job.error) == (BulkStatusJob.State.DONE, 4, "")
    assert job.result["counts"] == {"applied": 3, "skipped": 1} and job.result["skips"] == {"error": 1}
    suspended = set(Account.objects.filter(status_type__name="Suspended").values_list("pk", flat=True))
    assert suspended == {a.pk for a in active} - {bad}
    assert not StatusChange.objects.filter(account_id=bad).exists()
    skipped = list(bulk.skip_rows(job).values_list("account_id", "skip_code", "message"))
    assert skipped == [(bad, "error", "OperationalError: disk full")]
    page = support_client.get(reverse("accounts:bulk-skipped", args=[job.pk])).content.decode()
    assert "An error: nothing was changed (see the message)" in page and "OperationalError: disk full" in page


def test_the_audit_log_credits_a_bulk_change_to_whoever_asked_not_the_system(admin_user):
    active = _accounts(2)
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in active])
    _save(job, admin_user)  # the worker's run, outside any request
    entries = AuditEntry.objects.filter(action="status_change", account_id__in=[a.pk for a in active])
    assert sorted(entries.values_list("actor_id", "actor_name", "after__state")) == [
        (admin_user.pk, admin_user.username, "applied")] * 2


def test_a_job_that_would_change_nothing_offers_no_save(support_client, admin_user):
    accounts = _accounts(3, type_name="Suspended")
    job, _ = _suspend(admin_user, account_ids=[a.pk for a in accounts])
    page = support_client.get(reverse("accounts:bulk-job", args=[job.pk])).content.decode()
    assert "Nothing to save: every account would be skipped" in page
    assert 'data-testid="bulk-save"' not in page and "Save: change 0 accounts" not in page
    assert 'data-testid="bulk-cancel"' in page
