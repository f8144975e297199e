import pytest
from rest_framework.test import APIClient

from provisioning.models import ProvisioningJob
from provisioning.runner import run_account_jobs

pytestmark = pytest.mark.django_db


def url(account_id):
    return f"/api/v1/accounts/{account_id}/provisioning/"


def test_provisioned_account(api_support, make_account):
    account = make_account("Active")
    run_account_jobs(account.pk)
    response = api_support.get(url(account.pk))
    assert response.status_code == 200
    assert response.json() == {"state": "enabled", "pending_jobs": 0, "last_error": ""}


def test_pending_and_failed_jobs_show_with_the_last_error(api_admin, make_account, settings):
    account = make_account("Active")
    assert api_admin.get(url(account.pk)).json() == {"state": "absent", "pending_jobs": 1, "last_error": ""}
    settings.ENGAGE_PROVISIONING_BACKEND = "webhook"
    settings.ENGAGE_WEBHOOK_URL = ""
    run_account_jobs(account.pk)
    assert api_admin.get(url(account.pk)).json() == {
        "state": "absent",
        "pending_jobs": 1,
        "last_error": "ENGAGE_WEBHOOK_URL is not set, so the webhook backend cannot send anything.",
    }


def test_suspended_account(api_admin, make_account):
    from .conftest import set_status

    account = make_account("Active")
    run_account_jobs(account.pk)
    set_status(account, "Suspended")
    run_account_jobs(account.pk)
    assert api_admin.get(url(account.pk)).json()["state"] == "suspended"
    assert ProvisioningJob.objects.filter(account=account).count() == 2


def test_unknown_account_is_404(api_admin):
    response = api_admin.get(url(999999))
    assert response.status_code == 404
    assert "detail" in response.json()


def test_anonymous_is_refused(make_account):
    account = make_account("Active")
    response = APIClient().get(url(account.pk))
    assert response.status_code in (401, 403)


def test_a_user_without_a_role_is_refused(make_account, django_user_model):
    account = make_account("Active")
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("nobody", "n@example.com", "pw-123456"))
    assert client.get(url(account.pk)).status_code == 403


def test_only_get_is_allowed(api_admin, make_account):
    account = make_account("Active")
    assert api_admin.post(url(account.pk), {}).status_code == 405
