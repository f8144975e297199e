"""The service layer: every rule of SPEC §3, with the message a user reads, and nothing saved on refusal."""

import pytest

from engage.errors import FieldErrors
from statuses import services
from statuses.models import AccountStatusType, StatusReason
from statuses.selectors import reasons_for
from statuses.signals import backend_status_changed
from statuses.usage import accounts_using

from .factories import StatusReasonFactory, StatusTypeFactory, account_of, pending_change_to, snapshot

pytestmark = pytest.mark.django_db


def _type(name):
    return AccountStatusType.objects.get(name=name)


def _refused(call, **kwargs):
    """Run a service that must refuse; return its {field: [messages]} and check nothing changed."""
    before = snapshot()
    with pytest.raises(FieldErrors) as info:
        call(**kwargs)
    assert snapshot() == before
    return info.value.errors


def test_create_trims_and_saves():
    t = services.status_type_create(name="  Trial  ", backend_status="active", image_url=" /static/t.png ")
    t.refresh_from_db()
    assert (t.name, t.backend_status, t.image_url, t.show_in_statistics, t.is_default) == (
        "Trial", "active", "/static/t.png", True, False
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Name is required."),
        ("   ", "Name is required."),
        ("x" * 10_000, "Name must be at most 100 characters (it has 10,000)."),
        ("aCtIvE", "A status type named “Active” already exists (names are unique, ignoring case)."),
        ("Tab\there", "Name cannot contain control or invisible formatting characters (tabs, line breaks, "
         "right-to-left overrides, …): U+0009."),
        ("evil\u202egnp.exe", "Name cannot contain control or invisible formatting characters (tabs, line breaks, "
         "right-to-left overrides, …): U+202E."),
    ],
)
def test_create_bad_names(name, message):
    errors = _refused(services.status_type_create, name=name, backend_status="active")
    assert errors == {"name": [message]}


def test_unicode_case_variants_are_duplicates_on_every_database():
    services.status_type_create(name="École fermée", backend_status="cancelled")
    errors = _refused(services.status_type_create, name="ÉCOLE FERMÉE", backend_status="cancelled")
    assert errors["name"] == ["A status type named “École fermée” already exists (names are unique, ignoring case)."]


def test_name_of_exactly_100_characters_is_accepted():
    assert len(services.status_type_create(name="y" * 100, backend_status="active").name) == 100


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:image/png;base64,AAAA",
     "ftp://example.com/a.png", "//evil.example/a.png", "/\\evil.example/a.png", "img/a.png",
     "http://exa mple.com/a.png", "https://" + "a" * 500 + ".png"],
)
def test_create_bad_image_urls(url):
    errors = _refused(services.status_type_create, name="Trial", backend_status="active", image_url=url)
    assert list(errors) == ["image_url"]
    assert errors["image_url"][0].startswith("Image URL must be")


def test_javascript_url_message_names_the_scheme():
    errors = _refused(services.status_type_create, name="Trial", backend_status="active",
                      image_url="javascript:alert(1)")
    assert errors["image_url"] == [
        "Image URL must be an http:// or https:// address, or a site path starting with /. "
        "“javascript:” addresses are not allowed."
    ]


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.png", "http://example.com/a.png?x=1", "/static/a.png"])
def test_create_good_image_urls(url):
    assert services.status_type_create(name="Trial", backend_status="active", image_url=url).image_url == url


def test_unknown_backend_status():
    errors = _refused(services.status_type_create, name="Trial", backend_status="deleted")
    assert errors == {"backend_status": ["Status must be one of: active, suspended, cancelled, prospect."]}


def test_every_problem_is_reported_at_once():
    errors = _refused(services.status_type_create, name="", backend_status="", image_url="data:x")
    assert set(errors) == {"name", "backend_status", "image_url"}


def test_second_default_refused_unless_replacing():
    errors = _refused(services.status_type_create, name="Trial", backend_status="active", is_default=True)
    assert errors["is_default"] == [
        "“Active” is already the default type for new accounts, and there is only one. "
        "Also tick “Replace the current default” to make this type the default instead."
    ]
    trial = services.status_type_create(name="Trial", backend_status="active", is_default=True, replace_default=True)
    assert list(AccountStatusType.objects.filter(is_default=True)) == [trial]


def test_moving_the_default_by_editing_another_type():
    services.status_type_update(_type("Suspended"), is_default=True, replace_default=True)
    assert list(AccountStatusType.objects.filter(is_default=True).values_list("name", flat=True)) == ["Suspended"]


def test_the_default_cannot_be_unticked():
    errors = _refused(services.status_type_update, status_type=_type("Active"), is_default=False)
    assert errors == {"is_default": [
        "There must always be a default type for new accounts: to change it, make another type the default."
    ]}


def test_cancelled_type_cannot_be_default():
    errors = _refused(services.status_type_update, status_type=_type("Cancelled"), is_default=True,
                      replace_default=True)
    assert errors == {"is_default": ["The default type for new accounts cannot be a cancelled type."]}
    errors = _refused(services.status_type_create, name="Gone", backend_status="cancelled", is_default=True,
                      replace_default=True)
    assert errors == {"is_default": ["The default type for new accounts cannot be a cancelled type."]}


def test_default_type_cannot_become_cancelled():
    errors = _refused(services.status_type_update, status_type=_type("Active"), backend_status="cancelled")
    assert errors == {"backend_status": [
        "The default type for new accounts cannot be a cancelled type: make another type the default first."
    ]}


def test_backend_status_change_allowed_and_signalled():
    vip = StatusTypeFactory(name="VIP", backend_status="active")
    account_of(vip)
    seen = []

    def receiver(sender, status_type, old, new, **kwargs):
        seen.append((status_type.name, old, new))

    backend_status_changed.connect(receiver)
    try:
        services.status_type_update(vip, backend_status="suspended")
    finally:
        backend_status_changed.disconnect(receiver)
    assert _type("VIP").backend_status == "suspended"
    assert seen == [("VIP", "active", "suspended")]


@pytest.mark.parametrize("start, to", [("prospect", "active"), ("active", "prospect")])
def test_to_or_from_prospect_refused_while_in_use(start, to):
    t = StatusTypeFactory(name="Lead", backend_status=start)
    account_of(t)
    errors = _refused(services.status_type_update, status_type=t, backend_status=to)
    assert errors == {"backend_status": [
        "1 account uses this type, so its status cannot be changed to or from Prospect: "
        "prospect is only an initial status and can never be re-entered."
    ]}


def test_to_prospect_allowed_while_unused():
    t = StatusTypeFactory(name="Lead", backend_status="active")
    assert services.status_type_update(t, backend_status="prospect").backend_status == "prospect"


def test_rename_keeps_own_name_in_another_case():
    t = services.status_type_update(_type("Suspended"), name="SUSPENDED")
    assert t.name == "SUSPENDED"


def test_account_count_follows_accounts():
    t = StatusTypeFactory(name="VIP")
    assert accounts_using(t) == 0
    account_of(t, "A")
    account_of(t, "B")
    assert accounts_using(_type("VIP")) == 2


# ---- delete ----------------------------------------------------------------------------------


def test_delete_refuses_default_in_use_and_pending_target_and_deletes_the_rest():
    unused = StatusTypeFactory(name="Unused")
    used = StatusTypeFactory(name="Used")
    account_of(used)
    targeted = StatusTypeFactory(name="Targeted", backend_status="suspended")
    pending_change_to(targeted)
    deleted, refused = services.status_types_delete([unused.pk, used.pk, targeted.pk, _type("Active").pk])
    assert deleted == ["Unused"]
    assert dict(refused) == {
        "Active": "it is the default type for new accounts; 1 account uses it.",
        "Used": "1 account uses it.",
        "Targeted": "1 pending status change targets it.",
    }
    assert set(AccountStatusType.objects.values_list("name", flat=True)) == {
        "Active", "Cancelled", "Suspended", "Prospect", "Used", "Targeted"
    }


def test_delete_refuses_a_type_on_status_history():
    old = StatusTypeFactory(name="Old", backend_status="suspended")
    change = pending_change_to(old)
    change.state = "applied"
    change.save()
    deleted, refused = services.status_types_delete([old.pk])
    assert (deleted, refused) == ([], [("Old", "it appears in accounts' status history.")])


def test_delete_nothing():
    assert services.status_types_delete([]) == ([], [])


# ---- reasons ---------------------------------------------------------------------------------


def test_reason_create_edit_retire():
    reason = services.status_reason_create(name=" Chargeback ", backend_statuses=["suspended", "cancelled"])
    assert (reason.name, reason.backend_statuses, reason.is_active) == ("Chargeback", ["suspended", "cancelled"], True)
    assert reason in reasons_for("cancelled")
    assert reason not in reasons_for("active")
    services.status_reason_update(reason, name="Chargeback received", backend_statuses=["cancelled"])
    reason.refresh_from_db()
    assert (reason.name, reason.backend_statuses) == ("Chargeback received", ["cancelled"])
    services.status_reason_update(reason, is_active=False)
    assert reason not in reasons_for("cancelled")
    assert StatusReason.objects.filter(name="Chargeback received", is_active=False).exists()


@pytest.mark.parametrize(
    "fields, errors",
    [
        ({"name": "", "backend_statuses": ["active"]}, {"name": ["Name is required."]}),
        ({"name": "FRAUD", "backend_statuses": ["active"]},
         {"name": ["A status reason named “Fraud” already exists (names are unique, ignoring case)."]}),
        ({"name": "New", "backend_statuses": []},
         {"backend_statuses": ["Pick at least one status this reason applies to."]}),
        ({"name": "New", "backend_statuses": ["gone"]},
         {"backend_statuses": ["Unknown status gone: pick from active, suspended, cancelled, prospect."]}),
    ],
)
def test_reason_bad_input(fields, errors):
    assert _refused(services.status_reason_create, **fields) == errors


def test_reason_delete_refused_when_a_change_names_it():
    used = StatusReasonFactory(name="Used reason")
    unused = StatusReasonFactory(name="Unused reason")
    pending_change_to(_type("Suspended"), reason=used)
    deleted, refused = services.status_reasons_delete([used.pk, unused.pk])
    assert deleted == ["Unused reason"]
    assert refused == [("Used reason", "1 status change gives it as the reason; "
                                       "retire it instead (untick Active) to hide it from pick lists.")]
    assert StatusReason.objects.filter(name="Used reason").exists()
