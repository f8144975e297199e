"""The support desk's pages (issue 15): step 1 offers what the rules allow, step 2 speaks the direction at
hand, a refused preview says why beside the field and in the preview area, pending changes are shown
beside the status and removed only after a confirmation, credits read as credit notes."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.engine import account_change_status
from accounts.models import Account, StatusChange
from billing.api.serializers import InvoiceSerializer
from billing.models import Invoice
from billing.proration import next_bill_day
from engage.clock import today

from .factories import give_package, make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


def _options(html):
    return re.findall(r"<option value=\"\d+\">([^<]*)</option>", html)


def _step2(client, account, to_name, **post):
    url = f"/accounts/{account.pk}/status/{status_type(to_name).pk}/"
    if not post:
        return client.get(url)
    post.setdefault("version", Account.objects.get(pk=account.pk).version)
    return client.post(url, post, HTTP_HX_REQUEST="true")


def _schedule(account, to_name, days, reason_name=None):
    return account_change_status(
        account_id=account.pk, to_type=status_type(to_name), option="specific_date",
        effective_date=today() + timedelta(days=days), reason=reason(reason_name) if reason_name else None,
    )


def test_step_one_offers_only_the_targets_the_rules_allow(support_client):
    account = make_account()  # Active: it has left prospect
    offered = _options(support_client.get(f"/accounts/{account.pk}/status/").content.decode())
    assert "Active" not in offered and "Prospect" not in offered
    assert {"Suspended", "Cancelled"} <= set(offered)
    prospect = make_account(type_name="Prospect", email="p@example.com")
    assert "Active" in _options(support_client.get(f"/accounts/{prospect.pk}/status/").content.decode())


def test_step_one_offers_what_a_pending_change_makes_possible(support_client):
    account = make_account()
    _schedule(account, "Suspended", 8, "Non-payment")
    # Active is the status now, but after the suspension on the 8th an enable on the 9th is allowed.
    assert "Active" in _options(support_client.get(f"/accounts/{account.pk}/status/").content.decode())


def test_step_one_refuses_a_target_it_does_not_offer(support_client):
    account = make_account()
    response = support_client.post(f"/accounts/{account.pk}/status/", {"status_type": status_type("Prospect").pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("from_name,to_name,heading,present,absent", [
    ("Active", "Suspended", "Suspend options",
     ["Suspends today and credits the unused part of the current period", "Suspends on the next bill date, {next}"],
     ["Enables", "Cancels", "enable"]),
    ("Suspended", "Active", "Enable options",
     ["Enables today and charges the rest of the current period, prorated.",
      "billing resumes at the next bill date, {next}"],
     ["credits", "Suspends"]),
    ("Suspended", "Cancelled", "Cancel options",
     ["Cancels today. No transaction: neither status bills.", "Cancels on the date you give (today or later). "
      "No transaction."],
     ["prorated", "Immediately with"]),
])
def test_step_two_words_each_option_for_the_direction(support_client, from_name, to_name, heading, present, absent):
    account = make_account(type_name=from_name)
    html = _step2(support_client, account, to_name).content.decode()
    assert f"<h1 class=\"h3\">{heading}: {from_name} → {to_name}</h1>" in html
    fieldset = html[html.index("<fieldset"):html.index("</fieldset>")]
    for text in present:
        assert text.format(next=f"{next_bill_day(account.bill_day, today()):%Y-%m-%d}") in fieldset
    for text in absent:
        assert text not in fieldset
    assert " checked" not in fieldset  # nothing preselected
    # The date is offered only with Specific date: hidden until that option is chosen, and not prefilled.
    assert '<div data-date-for-option="specific_date" hidden>' in html
    assert 'name="effective_date" value=' not in html


def test_a_refused_preview_shows_each_message_beside_its_field_and_in_the_preview_area(support_client):
    account = make_account()
    past = today() - timedelta(days=1)
    response = _step2(support_client, account, "Suspended", option="specific_date",
                      effective_date=past.isoformat(), preview="1")
    assert response.status_code == 400
    html = response.content.decode()
    preview = html[html.index('data-testid="preview-errors"'):]
    assert "Reason: This field is required." in preview
    assert re.findall(r'data-testid="error-reason">([^<]*)<', html) == ["This field is required."]
    assert 'aria-invalid="true"' in html
    # With the reason given, the engine's refusal of the date is shown beside the date and in the preview area.
    response = _step2(support_client, account, "Suspended", option="specific_date", effective_date=past.isoformat(),
                      reason=reason("Non-payment").pk, preview="1")
    assert response.status_code == 400
    html = response.content.decode()
    message = f"The date {past:%Y-%m-%d} is in the past."
    assert re.findall(r'data-testid="error-effective_date">([^<]*)<', html) == [message]
    assert f"Date: {message}" in html[html.index('data-testid="preview-errors"'):]
    assert '<div data-date-for-option="specific_date">' in html  # shown: it is the field to correct
    assert not StatusChange.objects.filter(account=account).exists()


def test_the_overview_shows_pending_changes_beside_the_status_and_history_before_billing(support_client):
    account = make_account(name="Ada Lovelace")
    _schedule(account, "Suspended", 8, "Non-payment")
    _schedule(account, "Active", 9)
    html = support_client.get(f"/accounts/{account.pk}/").content.decode()
    status = html[html.index('data-testid="account-status"'):html.index("<dl")]
    eighth, ninth = (today() + timedelta(days=d) for d in (8, 9))
    assert re.findall(r'data-testid="pending-next">([^<]*)<', status) == [
        f"Suspends on {eighth:%Y-%m-%d} (Non-payment)", f"Enables on {ninth:%Y-%m-%d}"
    ]
    assert status.count(">Remove</a>") == 2
    assert html.count(">Active</span>") == 1  # the status once, in its badge; no second grey badge
    assert html.index('id="history"') < html.index('id="billing"') < html.index('id="provisioning"')


def test_remove_asks_first_then_names_what_it_removed_and_keeps_it_in_the_history(support_client):
    account = make_account()
    change = _schedule(account, "Cancelled", 11, "Customer request").change
    url = f"/accounts/{account.pk}/components/{change.pk}/remove/"
    when = f"{today() + timedelta(days=11):%Y-%m-%d}"
    page = support_client.get(url)
    assert page.status_code == 200
    assert f"The change to “Cancelled” on {when} (Customer request) will not happen." in page.content.decode()
    assert StatusChange.objects.get(pk=change.pk).state == "pending"
    response = support_client.post(url, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Removed the pending change to “Cancelled” on {when} (Customer request)."
    ]
    history = response.content.decode().split("<section class=\"mb-4\" id=\"history\">")[1].split("</section>")[0]
    assert "Removed</strong> before its date" in history and "support1" in history
    # Once removed, the confirmation page is not offered again.
    again = support_client.get(url, follow=True)
    assert "is no longer pending" in again.content.decode()
    assert support_client.get(f"/accounts/{account.pk}/components/99999/remove/").status_code == 404


def test_components_add_previews_a_period_end_change(support_client):
    account = make_account(bill_day=1)
    give_package(account, price="30.00", start=date(2026, 1, 1), next_bill=next_bill_day(1, today()))
    response = support_client.post(f"/accounts/{account.pk}/components/add/", {
        "status_type": status_type("Suspended").pk, "option": "period_end", "reason": reason("Non-payment").pk,
        "version": account.version, "preview": "1",
    }, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"scheduled for {next_bill_day(1, today()):%Y-%m-%d}" in html
    assert "no transaction" in html
    assert not StatusChange.objects.filter(account=account).exists()


def test_a_credit_reads_as_a_credit_note_on_the_overview_and_in_the_api(support_client):
    account = make_account()
    credit = Invoice.objects.create(account=account, issued_on=today(), total=Decimal("-35.48"))
    charge = Invoice.objects.create(account=account, issued_on=today(), total=Decimal("49.99"))
    html = support_client.get(f"/accounts/{account.pk}/").content.decode()
    row = html.split(f'data-testid="invoice-{credit.pk}">')[1].split("</tr>")[0]
    assert f"Credit note #{credit.pk}" in row and "-35.48" in row and "(credit)" in row
    assert f"Invoice #{charge.pk}" in html.split(f'data-testid="invoice-{charge.pk}">')[1].split("</tr>")[0]
    assert InvoiceSerializer(credit, context={"lines": []}).data["kind"] == "credit_note"
    assert InvoiceSerializer(charge, context={"lines": []}).data["kind"] == "invoice"
    assert str(credit) == f"Credit note {credit.pk}"


@pytest.mark.parametrize("button", ["preview", "save"])
def test_a_form_left_open_while_the_account_changed_is_refused_by_preview_as_by_save(support_client, button):
    """The issue's case: someone suspended the account while this Suspend form was open. Preview used to show a
    preview for the new state under the old heading, or "Select a valid choice …"; now both buttons say reload."""
    account = make_account()
    opened_at = Account.objects.get(pk=account.pk).version
    account_change_status(account_id=account.pk, to_type=status_type("Suspended"),
                          option="immediately_with_prorated_transaction", reason=reason("Non-payment"))
    response = _step2(support_client, account, "Suspended", version=opened_at, reason=reason("Non-payment").pk,
                      option="immediately_with_prorated_transaction", **{button: "1"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "This account changed while you were editing; nothing was saved. Reload and try again." in html
    assert "Select a valid choice" not in html
    assert StatusChange.objects.filter(account=account).count() == 1  # only the other person's change
