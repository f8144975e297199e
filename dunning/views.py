"""Collections pages for the support desk: the dry run of the next pass, and an account's exemption. Thin:
the rules are in dry_run.py and exemptions.py."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from accounts.models import Account
from engage.clock import today
from engage.errors import DomainError, add_to_form
from engage.forms import AccessibleForm
from engage.input_fields import PageDateField
from engage.limits import EXEMPTION_NOTE_MAX_CHARS
from engage.views import StaffRequiredMixin

from .dry_run import collections_dry_run
from .exemptions import exemption_set


class DryRunForm(AccessibleForm):
    date = PageDateField(label="Pass of", what="The day of the pass", required=False,
                         help_text="The day the pass runs for (today when empty).")


class ExemptionForm(AccessibleForm):
    until = PageDateField(label="Exempt until", what="Exempt until", required=False,
                          help_text="Inclusive. No collection step runs for this account until the day after.")
    note = forms.CharField(label="Note", required=False, max_length=EXEMPTION_NOTE_MAX_CHARS,
                           widget=forms.TextInput(attrs={"class": "form-control"}),
                           help_text="Why: a promise to pay, a dispute, a hardship arrangement.")


class DryRunView(StaffRequiredMixin, View):
    """Collections → Dry run: what the pass of a day would do, counted per step, with the accounts."""

    def get(self, request):
        form = DryRunForm(request.GET or None)
        plan, status = None, 200
        if form.is_bound and not form.is_valid():
            status = 400
        else:
            day = (form.cleaned_data.get("date") if form.is_bound else None) or today()
            try:
                plan = collections_dry_run(day)
            except DomainError as err:  # a day before the pass's last success: the pass would refuse it
                add_to_form(form, err)
                status = 400
        return render(request, "dunning/dry_run.html", {"form": form, "plan": plan, "nav": "collections"},
                      status=status)


class ExemptionView(StaffRequiredMixin, View):
    def _render(self, request, account, form, status=200):
        return render(request, "dunning/exemption.html", {"account": account, "form": form, "nav": "accounts"},
                      status=status)

    def get(self, request, pk):
        account = get_object_or_404(Account, pk=pk)
        form = ExemptionForm(initial={"until": account.collections_exempt_until,
                                      "note": account.collections_exempt_note})
        return self._render(request, account, form)

    def post(self, request, pk):
        account = get_object_or_404(Account, pk=pk)
        data = request.POST.copy()
        if "end" in data:
            data["until"], data["note"] = "", ""
        form = ExemptionForm(data)
        if form.is_valid() and "end" not in data and form.cleaned_data["until"] is None:
            # Only "End the exemption" ends it: a form sent without a date changes nothing.
            form.add_error("until", "Give the last day of the exemption" + (
                ", or press “End the exemption”." if account.collections_exempt_until else "."))
        if not form.is_valid():
            return self._render(request, account, form, status=400)
        try:
            account = exemption_set(account_id=account.pk, today=today(), **form.cleaned_data)
        except DomainError as err:
            add_to_form(form, err)
            return self._render(request, account, form, status=err.status_code)
        if account.collections_exempt_until:
            messages.success(request, f"Exempt from collections until {account.collections_exempt_until:%Y-%m-%d}.")
        else:
            messages.success(request, "No longer exempt from collections: the next pass runs its steps as usual.")
        return redirect("accounts:overview", account.pk)
