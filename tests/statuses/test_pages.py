"""The Setup pages as an Administrator uses them: what the page says, which rows exist afterwards. What every
Setup page does is tested once, in tests/setup_pages.py; here each kind declares its data, and what only
status types or reasons do is tested by hand."""

import re

import pytest
from django.urls import reverse

from statuses import services
from statuses.models import AccountStatusType, StatusReason
from tests.setup_pages import SetupPageTests

from .factories import StatusReasonFactory, StatusTypeFactory, account_of, pending_change_to, snapshot

pytestmark = pytest.mark.django_db

TYPE_LIST = reverse("statuses:type-list")
TYPE_ADD = reverse("statuses:type-add")
TYPE_DELETE = reverse("statuses:type-delete")
REASON_DELETE = reverse("statuses:reason-delete")


def _type(name):
    return AccountStatusType.objects.get(name=name)


def _form(**overrides):
    data = {"name": "Trial", "backend_status": "active", "image_url": "", "show_in_statistics": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _edit_form(t, **overrides):
    data = {"name": t.name, "backend_status": t.backend_status, "image_url": t.image_url,
            "show_in_statistics": "on" if t.show_in_statistics else None, "is_default": "on" if t.is_default else None}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _label(html, field):
    """The class attribute of a field's label."""
    match = re.search(rf'<(?:label|legend)[^>]*class="([^"]*)"[^>]*data-testid="label-{field}"', html)
    assert match, f"no label for {field}"
    return match.group(1).split()


def _errors(html, field):
    return re.findall(rf'data-testid="error-{field}">([^<]*)<', html)


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# ---- what every Setup page does (tests/setup_pages.py) ------------------------------------------


class StatusesPageTests(SetupPageTests):
    def snapshot(self):
        return snapshot(), super().snapshot()  # types and reasons both: one must not change the other


class TestStatusTypePages(StatusesPageTests):
    model = AccountStatusType
    urls = {"list": "statuses:type-list", "add": "statuses:type-add", "edit": "statuses:type-edit",
            "delete": "statuses:type-delete"}
    title = "Account Status Types"
    verbose_name = "account status type"
    verbose_name_plural = "account status types"
    row = "type-row"
    required_labels = ("name", "backend_status")
    added = {"backend_status": "active", "image_url": "https://cdn.example.com/t.png", "show_in_statistics": True,
             "is_default": False}
    edited = {"backend_status": "suspended", "image_url": "", "show_in_statistics": False, "is_default": False}
    edit_page_shows = ("<strong>0 accounts</strong> use this type.",)
    refused = [
        ({"name": ""}, "name", "Name is required."),
        ({"name": "     "}, "name", "Name is required."),
        ({"name": "ACTIVE"}, "name", "A status type named “Active” already exists (names are unique, ignoring case)."),
        ({"name": "suspended"}, "name",
         "A status type named “Suspended” already exists (names are unique, ignoring case)."),
        ({"name": "vip"}, "name", "A status type named “VIP” already exists (names are unique, ignoring case)."),
        ({"name": "x" * 10_000}, "name", "Name must be at most 100 characters (it has 10,000)."),
        ({"backend_status": ""}, "backend_status", "Pick a status: Active, Suspended, Cancelled, Prospect."),
        ({"backend_status": "deleted"}, "backend_status",
         "Select a valid choice. deleted is not one of the available choices."),
        ({"image_url": "javascript:alert(1)"}, "image_url",
         "Image URL must be an http:// or https:// address, or a site path starting with /. "
         "“javascript:” addresses are not allowed."),
        ({"image_url": "data:image/png;base64,AAAA"}, "image_url",
         "Image URL must be an http:// or https:// address, or a site path starting with /. "
         "“data:” addresses are not allowed."),
        ({"image_url": "//evil.example/x.png"}, "image_url",
         "Image URL must be an http:// or https:// address, or a site path starting with /."),
        ({"is_default": "on"}, "is_default",
         "“Active” is already the default type for new accounts, and there is only one. "
         "Also tick “Replace the current default” to make this type the default instead."),
        ({"backend_status": "cancelled", "is_default": "on", "replace_default": "on"}, "is_default",
         "The default type for new accounts cannot be a cancelled type."),
        # Without Replace ticked: still the one error that applies, not also advice to tick a box that cannot help.
        ({"backend_status": "cancelled", "is_default": "on"}, "is_default",
         "The default type for new accounts cannot be a cancelled type."),
    ]
    refused_edits = [
        ({"name": ""}, "name", "Name is required."),
        ({"name": "prospect"}, "name",
         "A status type named “Prospect” already exists (names are unique, ignoring case)."),
        ({"image_url": "javascript:alert(1)"}, "image_url",
         "Image URL must be an http:// or https:// address, or a site path starting with /. "
         "“javascript:” addresses are not allowed."),
    ]

    def create(self, name=None):
        return services.status_type_create(name=name or "VIP", backend_status="active",
                                           image_url="/static/vip.png", show_in_statistics=True)

    def valid_data(self):
        return _form(name="Trial", image_url="https://cdn.example.com/t.png")

    def edit_data(self, obj):
        return _edit_form(obj, name=f"{obj.name} Gold", backend_status="suspended", image_url="",
                          show_in_statistics=None)


class TestStatusReasonPages(StatusesPageTests):
    model = StatusReason
    urls = {"list": "statuses:reason-list", "add": "statuses:reason-add", "edit": "statuses:reason-edit",
            "delete": "statuses:reason-delete"}
    title = "Status Reasons"
    verbose_name = "status reason"
    verbose_name_plural = "status reasons"
    row = "reason-row"
    required_labels = ("name", "backend_statuses")
    # Stored in the back-end statuses' own order, whatever the order ticked.
    added = {"backend_statuses": ["suspended", "cancelled"], "is_active": True}
    edited = {"backend_statuses": ["active", "cancelled"], "is_active": True}
    refused = [
        ({"name": ""}, "name", "Name is required."),
        ({"name": "non-PAYMENT"}, "name",
         "A status reason named “Non-payment” already exists (names are unique, ignoring case)."),
        ({"name": "LATE FEES"}, "name",
         "A status reason named “Late fees” already exists (names are unique, ignoring case)."),
        ({"backend_statuses": None}, "backend_statuses", "Pick at least one status this reason applies to."),
        ({"backend_statuses": ["deleted"]}, "backend_statuses",
         "Select a valid choice. deleted is not one of the available choices."),
    ]
    refused_edits = [
        ({"name": "  "}, "name", "Name is required."),
        ({"name": "fraud"}, "name", "A status reason named “Fraud” already exists (names are unique, ignoring case)."),
        ({"backend_statuses": None}, "backend_statuses", "Pick at least one status this reason applies to."),
    ]

    def create(self, name=None):
        return services.status_reason_create(name=name or "Late fees", backend_statuses=["suspended"])

    def valid_data(self):
        return {"name": "Chargeback", "backend_statuses": ["cancelled", "suspended"], "is_active": "on"}

    def edit_data(self, obj):
        return {"name": f"{obj.name} (old)", "backend_statuses": ["cancelled", "active"], "is_active": "on"}


# ---- status types --------------------------------------------------------------------------------


def test_list_shows_checkboxes_images_and_flags(admin_client):
    StatusTypeFactory(name="Hidden VIP", image_url="/static/vip.png", show_in_statistics=False)
    response = admin_client.get(TYPE_LIST)
    html = response.content.decode()
    assert [t.name for t in response.context["objects"]] == ["Active", "Cancelled", "Hidden VIP", "Prospect",
                                                             "Suspended"]
    assert html.count('type="checkbox" name="pk"') == 5
    assert '<img class="status-image" src="/static/vip.png" alt="Hidden VIP"' in html
    assert html.count(">Default</span>") == 1
    row = re.search(r'<tr data-testid="type-row">(?:(?!</tr>).)*Hidden VIP(?:(?!</tr>).)*</tr>', html, re.S).group(0)
    assert 'aria-label="No"' in row


def test_error_texts_are_escaped_in_html(admin_client):
    """Every problem at once: quotes in messages reach the page as text, each error next to its own field."""
    response = admin_client.post(TYPE_ADD, _form(name="", image_url="data:x"))
    html = response.content.decode()
    assert _errors(html, "name") == ["Name is required."]
    assert len(_errors(html, "image_url")) == 1
    assert _errors(html, "backend_status") == []
    assert "invalid-label" not in _label(html, "backend_status")
    assert 'class="form-control is-invalid"' in html


def test_second_default_is_offered_as_replace_and_then_moves(admin_client):
    response = admin_client.post(TYPE_ADD, _form(name="Trial", is_default="on"))
    html = response.content.decode()
    assert "Replace the current default (“Active”)" in html
    response = admin_client.post(TYPE_ADD, _form(name="Trial", is_default="on", replace_default="on"))
    assert response.status_code == 302
    assert list(AccountStatusType.objects.filter(is_default=True).values_list("name", flat=True)) == ["Trial"]


def test_image_url_is_rendered_escaped(admin_client):
    # Stored as it is (say, from before the URL check): the quote still cannot leave the src attribute.
    pic = StatusTypeFactory(name="Pic", image_url='/static/a.png?x="><script>alert(1)</script>')
    for url in (TYPE_LIST, reverse("statuses:type-edit", args=[pic.pk])):
        html = admin_client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert 'src="/static/a.png?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_edit_page_says_how_many_accounts_use_the_type(admin_client):
    vip = StatusTypeFactory(name="VIP")
    account_of(vip, "A")
    account_of(vip, "B")
    html = admin_client.get(reverse("statuses:type-edit", args=[vip.pk])).content.decode()
    assert "<strong>2 accounts</strong> use this type." in re.sub(r"\s+", " ", html)
    html = admin_client.get(reverse("statuses:type-edit", args=[_type("Prospect").pk])).content.decode()
    assert "<strong>0 accounts</strong> use this type." in re.sub(r"\s+", " ", html)


def test_edit_changes_backend_status_while_accounts_use_the_type(admin_client):
    vip = StatusTypeFactory(name="VIP")
    account_of(vip)
    response = admin_client.post(reverse("statuses:type-edit", args=[vip.pk]),
                                 _edit_form(vip, backend_status="suspended", save="1"), follow=True)
    assert "Account status type “VIP” saved." in _messages(response)
    assert _type("VIP").backend_status == "suspended"


@pytest.mark.parametrize(
    "name, overrides, field, message",
    [
        ("Active", {"is_default": None}, "is_default",
         "There must always be a default type for new accounts: to change it, make another type the default."),
        ("Active", {"backend_status": "cancelled"}, "backend_status",
         "The default type for new accounts cannot be a cancelled type: make another type the default first."),
        ("Cancelled", {"is_default": "on", "replace_default": "on"}, "is_default",
         "The default type for new accounts cannot be a cancelled type."),
    ],
)
def test_edit_form_errors(admin_client, name, overrides, field, message):
    t = _type(name)
    before = snapshot()
    response = admin_client.post(reverse("statuses:type-edit", args=[t.pk]), _edit_form(t, **overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert _errors(html, field) == [message]
    assert "invalid-label" in _label(html, field)
    # The heading names the stored type, not the rejected input.
    assert f"Edit account status type “{name}”" in html
    assert snapshot() == before


def test_prospect_change_refused_while_in_use(admin_client):
    lead = StatusTypeFactory(name="Lead", backend_status="prospect")
    account_of(lead)
    before = snapshot()
    response = admin_client.post(reverse("statuses:type-edit", args=[lead.pk]),
                                 _edit_form(lead, backend_status="active"))
    assert response.status_code == 400
    assert _errors(response.content.decode(), "backend_status") == [
        "1 account uses this type, so its status cannot be changed to or from Prospect: "
        "prospect is only an initial status and can never be re-entered."
    ]
    assert snapshot() == before


def test_delete_default_is_refused(admin_client):
    trial = StatusTypeFactory(name="Trial")
    before = snapshot()
    # The confirmation page already says which checked type will be kept, and why.
    html = admin_client.post(TYPE_DELETE, {"pk": [trial.pk, _type("Active").pk]}).content.decode()
    assert "Delete 2 account status types?" in html
    assert "Will be kept: it is the default type for new accounts." in html
    assert snapshot() == before
    response = admin_client.post(TYPE_DELETE, {"pk": [_type("Active").pk], "confirm": "1"}, follow=True)
    assert _messages(response) == ["“Active” was not deleted: it is the default type for new accounts."]
    assert snapshot() == before


def test_delete_in_use_is_refused(admin_client):
    vip = StatusTypeFactory(name="VIP")
    account_of(vip)
    response = admin_client.post(TYPE_DELETE, {"pk": [vip.pk], "confirm": "1"}, follow=True)
    assert _messages(response) == ["“VIP” was not deleted: 1 account uses it."]
    assert AccountStatusType.objects.filter(name="VIP").exists()


def test_delete_pending_target_is_refused(admin_client):
    later = StatusTypeFactory(name="Later", backend_status="suspended")
    pending_change_to(later)
    response = admin_client.post(TYPE_DELETE, {"pk": [later.pk], "confirm": "1"}, follow=True)
    assert _messages(response) == ["“Later” was not deleted: 1 pending status change targets it."]
    assert AccountStatusType.objects.filter(name="Later").exists()


def test_delete_mixed_deletes_only_the_allowed(admin_client):
    gone1 = StatusTypeFactory(name="Gone 1")
    gone2 = StatusTypeFactory(name="Gone 2")
    vip = StatusTypeFactory(name="VIP")
    account_of(vip)
    response = admin_client.post(
        TYPE_DELETE, {"pk": [gone1.pk, vip.pk, gone2.pk, _type("Active").pk, "junk"], "confirm": "1"}, follow=True
    )
    assert response.redirect_chain == [(TYPE_LIST, 302)]
    assert _messages(response) == [
        "Deleted 2 of the checked account status types: “Gone 1”, “Gone 2”.",
        "“Active” was not deleted: it is the default type for new accounts.",
        "“VIP” was not deleted: 1 account uses it.",
    ]
    assert set(AccountStatusType.objects.values_list("name", flat=True)) == {
        "Active", "Cancelled", "Suspended", "Prospect", "VIP"
    }
    html = response.content.decode()
    assert "Gone 1</a>" not in html and "VIP</a>" in html


def test_delete_messages_escape_names(admin_client):
    evil = StatusTypeFactory(name="<img src=x onerror=alert(1)>")
    account_of(evil)
    html = admin_client.post(TYPE_DELETE, {"pk": [evil.pk], "confirm": "1"}, follow=True).content.decode()
    assert "<img src=x" not in html
    assert "“&lt;img src=x onerror=alert(1)&gt;” was not deleted: 1 account uses it." in html


# ---- reasons -----------------------------------------------------------------------------------


def test_reason_retire(admin_client):
    reason = StatusReasonFactory(name="Chargeback", backend_statuses=["suspended", "cancelled"])
    # Is_active left unticked: the reason is retired, not deleted, and the list says so.
    response = admin_client.post(reverse("statuses:reason-edit", args=[reason.pk]),
                                 {"name": "Chargeback", "backend_statuses": ["cancelled"]}, follow=True)
    assert "Status reason “Chargeback” saved." in _messages(response)
    reason.refresh_from_db()
    assert (reason.backend_statuses, reason.is_active) == (["cancelled"], False)
    row = re.search(rf'<tr data-testid="reason-row" class="text-muted">(?:(?!</tr>).)*value="{reason.pk}"'
                    r"(?:(?!</tr>).)*</tr>", response.content.decode(), re.S).group(0)
    assert "Retired" in row


def test_reason_delete_refused_when_used(admin_client):
    used = StatusReasonFactory(name="Used reason")
    unused = StatusReasonFactory(name="Unused reason")
    pending_change_to(_type("Suspended"), reason=used)
    response = admin_client.post(REASON_DELETE, {"pk": [used.pk, unused.pk], "confirm": "1"}, follow=True)
    assert _messages(response) == [
        "Deleted 1 of the checked status reasons: “Unused reason”.",
        "“Used reason” was not deleted: 1 status change gives it as the reason; "
        "retire it instead (untick Active) to hide it from pick lists.",
    ]
    assert list(StatusReason.objects.filter(name__endswith="reason").values_list("name", flat=True)) == ["Used reason"]
