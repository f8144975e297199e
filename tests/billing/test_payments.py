"""Payments (SPEC §11, issue 16 part): recorded, reversed with a reason, allocated oldest invoice first
with credit notes; invoice states, balance and overdue; the money holds to the cent whatever happens."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, Payment
from billing.overdue import overdue_by_account
from billing.payments import account_invoices, account_standing, allocate, payment_record, payment_reverse
from engage.errors import ConflictError, DomainError
from engage.models import AuditEntry
from tests.accounts.factories import make_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

TODAY = date(2031, 6, 1)


def invoice(account, total, issued_on, due_in=14):
    return Invoice.objects.create(account=account, total=Decimal(total), issued_on=issued_on,
                                  due_on=issued_on + timedelta(days=due_in))


def states(account):
    return [(a.invoice.total, a.paid, a.state) for a in account_invoices(account.pk)]


def pay(account, amount, on=TODAY, **kw):
    return payment_record(account_id=account.pk, amount=amount, paid_on=on, method="bank_transfer", today=TODAY, **kw)


def test_a_payment_pays_the_oldest_open_invoice_first():
    account = make_account()
    invoice(account, "49.99", date(2031, 4, 1))
    invoice(account, "49.99", date(2031, 5, 1))
    pay(account, "60.00")
    assert states(account) == [
        (Decimal("49.99"), Decimal("49.99"), "paid"), (Decimal("49.99"), Decimal("10.01"), "partly_paid"),
    ]
    # A credit note is allocated the same way, and used before the payments.
    invoice(account, "-35.48", date(2031, 5, 10))
    assert states(account) == [
        (Decimal("49.99"), Decimal("49.99"), "paid"), (Decimal("49.99"), Decimal("45.49"), "partly_paid"),
        (Decimal("-35.48"), Decimal("35.48"), "paid"),
    ]


def test_overpaid_money_pays_the_next_invoice_when_it_is_written():
    account = make_account()
    pay(account, "100.00")
    assert account_standing(account.pk, TODAY).balance == Decimal("-100.00")
    invoice(account, "49.99", TODAY)
    assert states(account) == [(Decimal("49.99"), Decimal("49.99"), "paid")]


def test_overdue_amount_and_days_count_from_the_oldest_unpaid_due_date():
    account = make_account()
    invoice(account, "30.00", date(2031, 4, 1))  # due 15 Apr
    invoice(account, "30.00", date(2031, 5, 1))  # due 15 May
    invoice(account, "30.00", date(2031, 5, 25))  # due 8 Jun: not yet overdue on 1 Jun
    standing = account_standing(account.pk, TODAY)
    assert (standing.overdue_amount, standing.overdue_days) == (Decimal("60.00"), 47)
    pay(account, "40.00")
    standing = account_standing(account.pk, TODAY)
    assert (standing.overdue_amount, standing.overdue_days) == (Decimal("20.00"), 17)
    pay(account, "20.00")
    assert account_standing(account.pk, TODAY).overdue_amount == Decimal("0.00")
    assert account_standing(account.pk, TODAY).overdue_days == 0


def test_a_reversal_takes_the_payment_back_with_its_reason_once():
    account = make_account()
    invoice(account, "49.99", date(2031, 5, 1))
    payment = pay(account, "49.99", reference="TX-1")
    reversal = payment_reverse(payment_id=payment.pk, reason="Cheque bounced", today=TODAY)
    assert (reversal.amount, reversal.reverses_id, reversal.reason) == (Decimal("-49.99"), payment.pk, "Cheque bounced")
    assert states(account) == [(Decimal("49.99"), Decimal("0.00"), "open")]
    assert Payment.objects.count() == 2  # never deleted
    with pytest.raises(ConflictError, match="already reversed"):
        payment_reverse(payment_id=payment.pk, reason="Again", today=TODAY)
    with pytest.raises(DomainError, match="itself a reversal"):
        payment_reverse(payment_id=reversal.pk, reason="Undo", today=TODAY)
    with pytest.raises(DomainError, match="Reason"):
        payment_reverse(payment_id=pay(account, "5.00").pk, reason="   ", today=TODAY)
    actions = list(AuditEntry.objects.filter(account_id=account.pk).values_list("action", flat=True))
    assert actions.count("payment_received") == 2 and actions.count("payment_reversed") == 1


@pytest.mark.parametrize("fields, field, message", [
    ({"amount": "0"}, "amount", "A payment is more than 0.00; to take one back, reverse it."),
    ({"amount": "-5.00"}, "amount", "Amount must not be negative."),
    ({"amount": "1.234"}, "amount", None),
    ({"amount": "abc"}, "amount", None),
    ({"paid_on": TODAY + timedelta(days=1)}, "paid_on", "A payment cannot be dated in the future."),
    ({"method": "bitcoin"}, "method", "Pick a method: Bank transfer, Card, Direct debit, Cash, Other."),
    ({"reference": "x" * 5000}, "reference", None),
])
def test_bad_payments_are_refused_with_a_message_and_nothing_saved(fields, field, message):
    account = make_account()
    args = {"amount": "10.00", "paid_on": TODAY, "method": "card", **fields}
    with pytest.raises(DomainError) as err:
        payment_record(account_id=account.pk, today=TODAY, **args)
    assert field in err.value.errors
    if message:
        assert err.value.errors[field] == [message]
    assert not Payment.objects.exists()


# ---------------------------------------------------------------- the money holds (property)

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
events = st.lists(
    st.one_of(
        st.tuples(st.just("invoice"), cents), st.tuples(st.just("credit"), cents),
        st.tuples(st.just("pay"), cents), st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events)
def test_any_sequence_keeps_the_balance_and_never_over_allocates(sequence):
    """Whatever invoices, credit notes, payments and reversals happen, in whatever order: balance = Σ
    invoices − Σ payments, no invoice is paid beyond its total, no more is allocated than was received."""
    account = make_account(email=f"p{Invoice.objects.count()}-{Payment.objects.count()}@example.com")
    day = date(2031, 1, 1)
    for kind, value in sequence:
        day += timedelta(days=3)
        if kind == "invoice":
            invoice(account, value, day)
        elif kind == "credit":
            invoice(account, -value, day)
        elif kind == "pay":
            payment_record(account_id=account.pk, amount=value, paid_on=day, method="cash", today=day)
        else:
            open_payments = list(Payment.objects.filter(account=account, amount__gt=0, reversed_by__isnull=True))
            if open_payments:
                target = open_payments[value % len(open_payments)]
                payment_reverse(payment_id=target.pk, reason="Property", today=day)
    invoices = list(Invoice.objects.filter(account=account))
    received = sum((p.amount for p in Payment.objects.filter(account=account)), Decimal(0))
    allocated = account_invoices(account.pk)
    charges = [a for a in allocated if a.invoice.total > 0]
    credits = [a for a in allocated if a.invoice.total < 0]
    assert received >= 0
    for a in allocated:
        assert Decimal(0) <= a.paid <= a.size
        assert a.paid == a.paid.quantize(Decimal("0.01"))
    paid = sum((a.paid for a in charges), Decimal(0))
    from_payments = paid - sum((a.paid for a in credits), Decimal(0))
    assert Decimal(0) <= from_payments <= received
    money_in = received + sum((a.size for a in credits), Decimal(0))
    assert paid == min(sum((a.size for a in charges), Decimal(0)), money_in)
    standing = account_standing(account.pk, day)
    assert standing.balance == sum((i.total for i in invoices), Decimal(0)) - received
    # Oldest first: an invoice is paid only when every older one is paid in full.
    for older, newer in zip(charges, charges[1:], strict=False):
        assert newer.paid == 0 or older.unpaid == 0
    # The collections pass's reading (SQL, many accounts at once) is the same allocation, on any later day.
    for later in (day, day + timedelta(days=20), day + timedelta(days=400)):
        past_due = [a for a in charges if a.unpaid > 0 and a.due_on < later]
        found = overdue_by_account(later, account_ids=[account.pk]).get(account.pk)
        if not past_due:
            assert found is None
        else:
            assert found.amount == sum((a.unpaid for a in past_due), Decimal(0))
            assert found.days == (later - min(a.due_on for a in past_due)).days
            assert account_standing(account.pk, later).overdue_amount == found.amount


def test_allocate_alone_is_pure_and_ordered_by_issue_date():
    a = Invoice(pk=2, issued_on=date(2031, 2, 1), total=Decimal("10.00"))
    b = Invoice(pk=1, issued_on=date(2031, 3, 1), total=Decimal("10.00"))
    assert [(x.invoice.pk, x.paid) for x in allocate([b, a], Decimal("15.00"))] == [
        (2, Decimal("10.00")), (1, Decimal("5.00"))
    ]


# ---------------------------------------------------------------- API


def test_api_records_a_payment_and_lists_invoices_with_what_is_paid(api_support):
    from engage.clock import today

    account = make_account()
    old = invoice(account, "49.99", today() - timedelta(days=40))
    new = invoice(account, "49.99", today() - timedelta(days=10))
    response = api_support.post(f"/api/v1/accounts/{account.pk}/payments/", {
        "amount": "60.00", "paid_on": today().isoformat(), "method": "card", "reference": "R-77"}, format="json")
    assert response.status_code == 201
    assert response.json()["amount"] == "60.00" and response.json()["reverses"] is None
    rows = api_support.get(f"/api/v1/accounts/{account.pk}/invoices/").json()
    assert [(r["id"], r["total"], r["paid"], r["state"], r["kind"]) for r in rows] == [
        (new.pk, "49.99", "10.01", "partly_paid", "invoice"), (old.pk, "49.99", "49.99", "paid", "invoice"),
    ]
    assert rows[0]["due_on"] == (today() + timedelta(days=4)).isoformat()
    payment_id = response.json()["id"]
    reversal = api_support.post(f"/api/v1/accounts/{account.pk}/payments/",
                                {"reverses": payment_id, "reason": "Card charged back"}, format="json")
    assert reversal.status_code == 201
    assert (reversal.json()["amount"], reversal.json()["reverses"]) == ("-60.00", payment_id)
    again = api_support.post(f"/api/v1/accounts/{account.pk}/payments/",
                             {"reverses": payment_id, "reason": "Twice"}, format="json")
    assert again.status_code == 409
    listed = api_support.get(f"/api/v1/accounts/{account.pk}/payments/").json()["results"]
    assert sorted(p["amount"] for p in listed) == ["-60.00", "60.00"]
    assert {r["state"] for r in api_support.get(f"/api/v1/accounts/{account.pk}/invoices/").json()} == {"open"}


def test_api_refuses_bad_payments_with_400_and_saves_nothing(api_support):
    account = make_account()
    url = f"/api/v1/accounts/{account.pk}/payments/"
    assert api_support.post(url, {"amount": "10.00"}, format="json").json() == {
        "paid_on": ["This field is required."], "method": ["This field is required."]}
    assert api_support.post(url, {"amount": "-1", "paid_on": "2026-01-01", "method": "cash"},
                            format="json").status_code == 400
    assert api_support.post(url, {"reverses": 999999, "reason": "x"}, format="json").json() == {
        "reverses": ["No such payment on this account."]}
    assert api_support.post("/api/v1/accounts/999999/payments/", {}, format="json").status_code == 404
    assert not Payment.objects.exists()


# ---------------------------------------------------------------- pages


def test_overview_add_payment_page_records_it_and_shows_invoice_states(support_client):
    from engage.clock import today

    account = make_account()
    old = invoice(account, "49.99", today() - timedelta(days=40))
    response = support_client.post(f"/accounts/{account.pk}/payments/add/", {
        "amount": "20.00", "paid_on": today().isoformat(), "method": "cash", "reference": "Till 3"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        f"Payment of 20.00 on {today():%Y-%m-%d} recorded; it pays the oldest open invoice first."]
    html = response.content.decode()
    row = html.split(f'data-testid="invoice-{old.pk}">')[1].split("</tr>")[0]
    assert "49.99" in row and "20.00" in row and "Partly paid" in row
    assert "Balance: <strong class=\"\">29.99</strong>" in html
    payments = html.split('data-testid="payments"')[1].split("</table>")[0]
    assert "Till 3" in payments and ">Reverse<" in payments


def test_add_payment_page_refuses_bad_input_beside_the_field(support_client):
    from engage.clock import today

    account = make_account()
    response = support_client.post(f"/accounts/{account.pk}/payments/add/", {
        "amount": "10.00", "paid_on": (today() + timedelta(days=2)).isoformat(), "method": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-method">This field is required.<' in html
    response = support_client.post(f"/accounts/{account.pk}/payments/add/", {
        "amount": "10.00", "paid_on": (today() + timedelta(days=2)).isoformat(), "method": "card"})
    assert response.status_code == 400
    assert 'data-testid="error-paid_on">A payment cannot be dated in the future.<' in response.content.decode()
    assert not Payment.objects.exists()


def test_reverse_page_names_the_payment_and_needs_a_reason(support_client):
    account = make_account()
    payment = pay(account, "15.00", reference="TX-9")
    url = f"/accounts/{account.pk}/payments/{payment.pk}/reverse/"
    assert "The payment of 15.00 on 2031-06-01 (Bank transfer, TX-9)" in support_client.get(url).content.decode()
    assert support_client.post(url, {"reason": ""}).status_code == 400
    response = support_client.post(url, {"reason": "Duplicate entry"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [f"Payment {payment.pk} of 15.00 was reversed."]
    payments = response.content.decode().split('data-testid="payments"')[1].split("</table>")[0]
    assert f"Reverses payment {payment.pk}: Duplicate entry" in payments and ">Reverse<" not in payments
    assert support_client.post(url, {"reason": "Again"}).status_code == 409
