"""Overview → Payments (SPEC §11): record a payment, reverse a mistaken one. Thin: the rules are in
billing.payments."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billing.models import Payment
from billing.payments import payment_record, payment_reverse
from engage.clock import today
from engage.errors import DomainError, add_to_form
from engage.views import StaffRequiredMixin

from .forms import PaymentForm, PaymentReverseForm
from .models import Account


class PaymentAddView(StaffRequiredMixin, View):
    def _render(self, request, account, form, status=200):
        context = {"account": account, "form": form, "nav": "accounts"}
        return render(request, "accounts/payment_add.html", context, status=status)

    def get(self, request, pk):
        account = get_object_or_404(Account, pk=pk)
        return self._render(request, account, PaymentForm(initial={"paid_on": today()}))

    def post(self, request, pk):
        account = get_object_or_404(Account, pk=pk)
        form = PaymentForm(request.POST)
        if not form.is_valid():
            return self._render(request, account, form, status=400)
        try:
            payment = payment_record(account_id=account.pk, actor=request.user, today=today(), **form.cleaned_data)
        except DomainError as err:
            add_to_form(form, err)
            return self._render(request, account, form, status=err.status_code)
        messages.success(request, f"Payment of {payment.amount} on {payment.paid_on:%Y-%m-%d} recorded; "
                                  "it pays the oldest open invoice first.")
        return redirect("accounts:overview", account.pk)


class PaymentReverseView(StaffRequiredMixin, View):
    def _render(self, request, account, payment, form, status=200):
        context = {"account": account, "payment": payment, "form": form, "nav": "accounts"}
        return render(request, "accounts/payment_reverse.html", context, status=status)

    def get(self, request, pk, payment_pk):
        account = get_object_or_404(Account, pk=pk)
        payment = get_object_or_404(Payment, pk=payment_pk, account=account)
        return self._render(request, account, payment, PaymentReverseForm())

    def post(self, request, pk, payment_pk):
        account = get_object_or_404(Account, pk=pk)
        payment = get_object_or_404(Payment, pk=payment_pk, account=account)
        form = PaymentReverseForm(request.POST)
        if not form.is_valid():
            return self._render(request, account, payment, form, status=400)
        try:
            payment_reverse(payment_id=payment.pk, reason=form.cleaned_data["reason"], account_id=account.pk,
                            actor=request.user, today=today())
        except DomainError as err:
            add_to_form(form, err)
            return self._render(request, account, payment, form, status=err.status_code)
        messages.success(request, f"Payment {payment.pk} of {payment.amount} was reversed.")
        return redirect("accounts:overview", account.pk)
