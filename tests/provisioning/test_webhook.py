import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from engage.models import PassRun
from provisioning.backends import AccountRef, BackendError, get_backend
from provisioning.backends.webhook import Backend as WebhookBackend
from provisioning.backends.webhook import sign, signed_message
from provisioning.models import JobState, ProvisioningJob, SwitchEntry
from provisioning.passes import provisioning_pass
from provisioning.runner import run_account_jobs

pytestmark = pytest.mark.django_db


def test_every_request_is_signed_and_carries_the_jobs_idempotency_key(make_account, fake_switch):
    account = make_account("Active")
    job = ProvisioningJob.objects.get(account=account)
    run_account_jobs(account.pk)

    assert [r["signature_ok"] for r in fake_switch.requests] == [True, True]
    assert [r["key"] for r in fake_switch.requests] == [f"{job.idempotency_key}:read", f"{job.idempotency_key}:create"]
    body = fake_switch.requests[1]["body"]
    assert body["action"] == "create"
    assert body["account"] == {"id": account.pk, "number": account.number}
    assert body["job"] == str(job.idempotency_key)
    assert fake_switch.state(account.pk) == "enabled"
    assert SwitchEntry.objects.get(account=account).state == "enabled"


def test_the_signature_covers_timestamp_key_and_body():
    # Known answer, computed independently:
    # echo -n '1700000000.job-1:read.{"action":"read"}' | openssl dgst -sha256 -hmac key
    message = signed_message("1700000000", "job-1:read", b'{"action":"read"}')
    assert sign("key", message) == "sha256=eab2f616f4b62222e916e243e13cfa19675fed1949d43ad09d5fe8ccb220bc8e"


def test_a_wrong_secret_is_refused_by_the_receiver_and_the_job_fails(make_account, fake_switch, settings):
    settings.ENGAGE_WEBHOOK_SECRET = "not-the-shared-secret"
    account = make_account("Active")
    run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert fake_switch.requests[0]["signature_ok"] is False
    assert job.state == JobState.FAILED
    assert job.last_error == "Webhook answered HTTP 401 Unauthorized to read, with '{\"detail\": \"bad signature\"}'."
    assert fake_switch.state(account.pk) == "absent"


def test_a_500_is_retried_with_the_same_key(make_account, fake_switch):
    account = make_account("Active")
    fake_switch.answer_next("ok", "500")  # the read works, the create fails
    now = timezone.now()
    run_account_jobs(account.pk, now=now)
    job = ProvisioningJob.objects.get(account=account)
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert "HTTP 500" in job.last_error and "to create" in job.last_error

    run_account_jobs(account.pk, now=now + timedelta(minutes=1))
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    create_keys = [r["key"] for r in fake_switch.requests if r["body"]["action"] == "create"]
    assert create_keys == [f"{job.idempotency_key}:create"] * 2
    assert fake_switch.state(account.pk) == "enabled"


def test_a_timeout_is_a_failed_job_and_is_retried(make_account, fake_switch, settings):
    settings.ENGAGE_WEBHOOK_TIMEOUT = 0.3
    account = make_account("Active")
    fake_switch.answer_next("hang")
    now = timezone.now()
    run_account_jobs(account.pk, now=now)
    job = ProvisioningJob.objects.get(account=account)
    assert job.state == JobState.FAILED
    assert job.last_error == "Webhook did not answer read within 0.3 s (ENGAGE_WEBHOOK_TIMEOUT)."
    fake_switch.delay_event.set()

    run_account_jobs(account.pk, now=now + timedelta(minutes=1))
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    assert fake_switch.state(account.pk) == "enabled"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (
            "garbage",
            "Webhook answered HTTP 200 to read with a body that is not JSON: '<html>Service Unavailable</html>'.",
        ),
        ((200, b"[1, 2]"), "Webhook answered HTTP 200 to read with JSON that is not an object: '[1, 2]'."),
        ((200, b'{"state": "on"}'), 'Webhook answer to read has no valid "state" (expected one of enabled, suspended, '
                                    'absent; got {"state": "on"}).'),
        ((200, b""), "Webhook answered HTTP 200 to read with a body that is not JSON: an empty body."),
        ((302, b""), "Webhook answered HTTP 302 Found to read, with an empty body."),
        ((503, b"x" * 500), "Webhook answered HTTP 503 Service Unavailable to read, with '" + "x" * 200 + "…'."),
    ],
)
def test_a_garbage_answer_is_a_failed_job_with_a_readable_error(make_account, fake_switch, answer, error):
    account = make_account("Active")
    fake_switch.answer_next(answer)
    run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert job.state == JobState.FAILED
    assert job.last_error == error


def test_an_action_answered_with_the_wrong_state_fails(make_account, fake_switch):
    account = make_account("Active")
    fake_switch.answer_next("ok", (200, b'{"state": "suspended"}'))
    run_account_jobs(account.pk)
    job = ProvisioningJob.objects.get(account=account)
    assert job.last_error == "Webhook answered state 'suspended' to create; expected 'enabled'."


def test_an_action_may_answer_with_an_empty_body(make_account, fake_switch):
    account = make_account("Active")
    fake_switch.answer_next("ok", (204, b""))
    run_account_jobs(account.pk)
    assert ProvisioningJob.objects.get(account=account).state == JobState.DONE
    assert SwitchEntry.objects.get(account=account).state == "enabled"


def test_a_garbage_answer_never_crashes_the_pass(make_account, fake_switch):
    bad, good = make_account("Active"), make_account("Active")
    fake_switch.answer_next("garbage")  # the first account in pk order gets it
    summary = provisioning_pass()
    assert (summary.done, summary.failed) == (1, 1)
    assert ProvisioningJob.objects.get(account=bad).state == JobState.FAILED
    assert ProvisioningJob.objects.get(account=good).state == JobState.DONE
    run = PassRun.objects.get(name="provisioning")
    assert (run.succeeded, run.processed, run.failed) == (False, 1, 1)
    assert f"account {bad.pk}: Webhook answered HTTP 200 to read with a body that is not JSON" in run.detail


def test_an_unreachable_receiver_is_a_readable_error(settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = WebhookBackend(url=f"http://127.0.0.1:{port}/x", secret="s", timeout=1)
    with pytest.raises(BackendError, match=rf"^Webhook at http://127.0.0.1:{port}/x could not be reached for read: "):
        backend.read_state(AccountRef(1, "100001"), idempotency_key="k")


def test_the_backend_is_chosen_by_the_setting(settings, fake_switch):
    backend = get_backend()
    assert isinstance(backend, WebhookBackend)
    assert (backend.url, backend.timeout) == (fake_switch.url, 2.0)
    settings.ENGAGE_PROVISIONING_BACKEND = "ledger"
    assert get_backend().name == "ledger"


def test_the_body_is_json_with_a_timestamp(make_account, fake_switch):
    account = make_account("Active")
    run_account_jobs(account.pk)
    body = fake_switch.requests[0]["body"]
    assert set(body) == {"action", "account", "job", "version", "sent_at"}
    assert body["version"] == ProvisioningJob.objects.get(account=account).pk
    assert json.dumps(body)  # round-trips
    assert timezone.datetime.fromisoformat(body["sent_at"]).tzinfo is not None
