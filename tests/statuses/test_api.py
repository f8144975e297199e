"""/api/v1/status-types/ and /api/v1/status-reasons/: the same services and messages as the pages."""

import pytest
from rest_framework.test import APIClient

from statuses.models import AccountStatusType, StatusReason

from .factories import StatusTypeFactory, account_of, pending_change_to, snapshot

pytestmark = pytest.mark.django_db

TYPES = "/api/v1/status-types/"
REASONS = "/api/v1/status-reasons/"


def _type(name):
    return AccountStatusType.objects.get(name=name)


def test_list_and_retrieve(api_support):
    response = api_support.get(TYPES)
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["results"]}
    assert set(rows) == {"Active", "Cancelled", "Prospect", "Suspended"}
    active = _type("Active")
    assert rows["Active"] == {"id": active.pk, "name": "Active", "backend_status": "active", "image_url": "",
                              "show_in_statistics": True, "is_default": True}
    assert api_support.get(f"{TYPES}{active.pk}/").json()["name"] == "Active"
    assert api_support.get(f"{TYPES}999999/").status_code == 404


def test_create_patch_delete(api_admin):
    response = api_admin.post(TYPES, {"name": " Trial ", "backend_status": "prospect",
                                      "image_url": "/static/t.png", "show_in_statistics": False}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("name", "backend_status", "image_url", "show_in_statistics", "is_default")} == {
        "name": "Trial", "backend_status": "prospect", "image_url": "/static/t.png",
        "show_in_statistics": False, "is_default": False,
    }
    assert "replace_default" not in body
    url = f"{TYPES}{body['id']}/"
    response = api_admin.patch(url, {"backend_status": "active", "show_in_statistics": True}, format="json")
    assert response.status_code == 200
    assert (response.json()["backend_status"], response.json()["show_in_statistics"]) == ("active", True)
    assert _type("Trial").backend_status == "active"
    assert api_admin.delete(url).status_code == 204
    assert not AccountStatusType.objects.filter(name="Trial").exists()


def test_put_is_not_offered(api_admin):
    active = _type("Active")
    assert api_admin.put(f"{TYPES}{active.pk}/", {"name": "X", "backend_status": "active"},
                         format="json").status_code == 405


@pytest.mark.parametrize(
    "payload, errors",
    [
        ({"name": "", "backend_status": "active"}, {"name": ["Name is required."]}),
        ({"name": "active", "backend_status": "active"},
         {"name": ["A status type named “Active” already exists (names are unique, ignoring case)."]}),
        ({"name": "x" * 10_000, "backend_status": "active"},
         {"name": ["Name must be at most 100 characters (it has 10,000)."]}),
        ({"name": "Trial", "backend_status": "active", "image_url": "javascript:alert(1)"},
         {"image_url": ["Image URL must be an http:// or https:// address, or a site path starting with /. "
                        "“javascript:” addresses are not allowed."]}),
        ({"name": "Trial", "backend_status": "active", "is_default": True},
         {"is_default": ["“Active” is already the default type for new accounts, and there is only one. "
                         "Also tick “Replace the current default” to make this type the default instead."]}),
        ({"name": "", "backend_status": "active", "image_url": "data:x"},
         {"name": ["Name is required."],
          "image_url": ["Image URL must be an http:// or https:// address, or a site path starting with /. "
                        "“data:” addresses are not allowed."]}),
    ],
)
def test_create_field_errors(api_admin, payload, errors):
    before = snapshot()
    response = api_admin.post(TYPES, payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot() == before


def test_create_shape_errors(api_admin):
    response = api_admin.post(TYPES, {"name": "Trial", "backend_status": "deleted"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["backend_status"]
    response = api_admin.post(TYPES, {"backend_status": "active"}, format="json")
    assert response.json() == {"name": ["This field is required."]}


def test_replace_default(api_admin):
    response = api_admin.post(TYPES, {"name": "Trial", "backend_status": "active", "is_default": True,
                                      "replace_default": True}, format="json")
    assert response.status_code == 201
    assert list(AccountStatusType.objects.filter(is_default=True).values_list("name", flat=True)) == ["Trial"]


def test_patch_errors(api_admin):
    active, lead = _type("Active"), StatusTypeFactory(name="Lead", backend_status="prospect")
    account_of(lead)
    before = snapshot()
    assert api_admin.patch(f"{TYPES}{active.pk}/", {"is_default": False}, format="json").json() == {
        "is_default": ["There must always be a default type for new accounts: to change it, make another type "
                       "the default."]}
    assert api_admin.patch(f"{TYPES}{lead.pk}/", {"backend_status": "active"}, format="json").json() == {
        "backend_status": ["1 account uses this type, so its status cannot be changed to or from Prospect: "
                           "prospect is only an initial status and can never be re-entered."]}
    assert snapshot() == before


def test_support_reads_but_cannot_write(api_support):
    before = snapshot()
    active = _type("Active")
    assert api_support.post(TYPES, {"name": "Trial", "backend_status": "active"}, format="json").status_code == 403
    assert api_support.patch(f"{TYPES}{active.pk}/", {"name": "X"}, format="json").status_code == 403
    assert api_support.delete(f"{TYPES}{_type('Prospect').pk}/").status_code == 403
    assert api_support.post(REASONS, {"name": "X", "backend_statuses": ["active"]}, format="json").status_code == 403
    assert api_support.get(REASONS).status_code == 200
    assert snapshot() == before


def test_anonymous_gets_401():
    anonymous = APIClient()
    assert anonymous.get(TYPES).status_code == 401
    assert anonymous.post(TYPES, {"name": "X", "backend_status": "active"}, format="json").status_code == 401
    assert anonymous.get(REASONS).status_code == 401


def test_delete_in_use_is_409_with_the_reason(api_admin):
    vip = StatusTypeFactory(name="VIP")
    account_of(vip)
    response = api_admin.delete(f"{TYPES}{vip.pk}/")
    assert response.status_code == 409
    assert response.json() == {"detail": "“VIP” was not deleted: 1 account uses it."}
    assert AccountStatusType.objects.filter(name="VIP").exists()


def test_delete_default_and_pending_target_are_409(api_admin):
    later = StatusTypeFactory(name="Later", backend_status="suspended")
    pending_change_to(later)
    assert api_admin.delete(f"{TYPES}{later.pk}/").json() == {
        "detail": "“Later” was not deleted: 1 pending status change targets it."}
    response = api_admin.delete(f"{TYPES}{_type('Active').pk}/")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("“Active” was not deleted: it is the default type for new accounts")


def test_reasons_crud(api_admin):
    response = api_admin.post(REASONS, {"name": "Chargeback", "backend_statuses": ["cancelled", "suspended"]},
                              format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["backend_statuses"], body["is_active"]) == ("Chargeback", ["suspended", "cancelled"],
                                                                           True)
    url = f"{REASONS}{body['id']}/"
    assert api_admin.patch(url, {"is_active": False}, format="json").json()["is_active"] is False
    assert api_admin.get(url).json()["is_active"] is False
    assert api_admin.delete(url).status_code == 204
    assert not StatusReason.objects.filter(name="Chargeback").exists()


def test_reason_errors(api_admin):
    before = snapshot()
    assert api_admin.post(REASONS, {"name": "fraud", "backend_statuses": []}, format="json").json() == {
        "name": ["A status reason named “Fraud” already exists (names are unique, ignoring case)."],
        "backend_statuses": ["Pick at least one status this reason applies to."],
    }
    assert list(api_admin.post(REASONS, {"name": "X", "backend_statuses": ["gone"]}, format="json").json()) == [
        "backend_statuses"]
    assert snapshot() == before


def test_reason_delete_in_use_is_409(api_admin):
    reason = StatusReason.objects.get(name="Fraud")
    pending_change_to(_type("Suspended"), reason=reason)
    response = api_admin.delete(f"{REASONS}{reason.pk}/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "“Fraud” was not deleted: 1 status change gives it as the reason; "
        "retire it instead (untick Active) to hide it from pick lists."
    )
