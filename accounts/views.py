from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing.selectors import account_billing_summary
from billing.services import bill_account
from engage.clock import today
from engage.errors import DomainError, add_to_form
from engage.keyset import keyset_page
from engage.limits import parse_id
from engage.views import StaffRequiredMixin
from provisioning.selectors import provisioning_summary
from statuses.models import AccountStatusType
from statuses.rules import ChangeOption, StatusChangeState, needs_reason
from statuses.selectors import reasons_for

from .filters import accounts_filtered
from .forms import ComponentStatusForm, StatusOptionForm, StatusPickForm
from .models import Account, StatusChange
from .selectors import pending_timeline, status_history
from .status_changes import (
    OPTION_DEFINITIONS,
    account_change_status,
    options_for,
    preview_status_change,
    status_change_remove,
)

PAGE_SIZE = 50


class AccountListView(StaffRequiredMixin, View):
    """Search and filters; keyset paging on id, so page N costs what page 1 does (no COUNT(*))."""

    def get(self, request):
        filterset = accounts_filtered(request.GET)
        after = request.GET.get("after", "")
        accounts, next_after = [], None
        if filterset.is_valid() and (after == "" or parse_id(after) is not None):
            accounts, next_after = keyset_page(filterset.qs, parse_id(after), PAGE_SIZE)
        params = request.GET.copy()
        params.pop("after", None)
        return render(
            request,
            "accounts/list.html",
            {
                "form": filterset.form,
                "accounts": accounts,
                "next_after": next_after,
                "query": params.urlencode(),
                "is_first_page": not after,
                "nav": "accounts",
            },
            status=200 if filterset.is_valid() else 400,
        )


class AccountOverviewView(StaffRequiredMixin, View):
    def get(self, request, pk):
        account = get_object_or_404(Account.objects.select_related("status_type"), pk=pk)
        return render(request, "accounts/overview.html", overview_context(account))


def overview_context(account):
    return {
        "account": account,
        "pending": pending_timeline(account),
        "history": list(status_history(account.pk)),
        "billing": account_billing_summary(account.pk),
        "provisioning": provisioning_summary(account.pk),
        "nav": "accounts",
    }


def _account(pk):
    return get_object_or_404(Account.objects.select_related("status_type"), pk=pk)


def _change_status(request, form, account, rerender, **args):
    """Every page way in: the engine decides; a refusal goes back on the form (400, or 409 when the
    account changed meanwhile), success back to the Overview with a confirmation."""
    try:
        outcome = account_change_status(
            account_id=account.pk, actor=request.user, expected_version=form.cleaned_data["version"], **args
        )
    except DomainError as err:
        add_to_form(form, err)
        return rerender(err.status_code)
    to_type = args["to_type"]
    if outcome.state == StatusChangeState.PENDING:
        messages.success(
            request,
            f"Status change to “{to_type.name}” scheduled for {outcome.effective_date:%Y-%m-%d}; "
            "it is listed under Components until then.",
        )
    else:
        messages.success(request, f"Status changed to “{to_type.name}”.")
    return redirect("accounts:overview", account.pk)


class StatusPickView(StaffRequiredMixin, View):
    """Overview → Status, step 1: pick the new status type."""

    def get(self, request, pk):
        account = _account(pk)
        return render(
            request,
            "accounts/status_pick.html",
            {"account": account, "form": StatusPickForm(account=account), "nav": "accounts"},
        )

    def post(self, request, pk):
        account = _account(pk)
        form = StatusPickForm(request.POST, account=account)
        if form.is_valid():
            url = reverse("accounts:status-options", args=[account.pk, form.cleaned_data["status_type"].pk])
            return redirect(f"{url}?version={request.POST.get('version') or account.version}")
        return render(
            request, "accounts/status_pick.html", {"account": account, "form": form, "nav": "accounts"}, status=400
        )


class StatusOptionsView(StaffRequiredMixin, View):
    """Step 2: option, reason, date, note, a preview of the exact lines, and Save."""

    def _form(self, account, to_type, data=None, version=None):
        backend = to_type.backend_status
        return StatusOptionForm(
            data,
            options=options_for(account.status_type.backend_status, backend),
            reasons=reasons_for(backend),
            reason_required=needs_reason(backend),
            initial={"version": version or account.version, "effective_date": today()},
        )

    def _render(self, request, account, to_type, form, outcome=None, status=200):
        # htmx asks for the preview alone; it is swapped in below the form.
        template = (
            "accounts/_status_preview.html"
            if request.htmx and "preview" in request.POST
            else ("accounts/status_options.html")
        )
        return render(
            request,
            template,
            {
                "account": account,
                "to_type": to_type,
                "form": form,
                "outcome": outcome,
                "definitions": OPTION_DEFINITIONS,
                "nav": "accounts",
            },
            status=status,
        )

    def get(self, request, pk, type_pk):
        account = _account(pk)
        to_type = get_object_or_404(AccountStatusType, pk=type_pk)
        version = request.GET.get("version")
        return self._render(
            request,
            account,
            to_type,
            self._form(account, to_type, version=parse_id(version)),
        )

    def post(self, request, pk, type_pk):
        account = _account(pk)
        to_type = get_object_or_404(AccountStatusType, pk=type_pk)
        form = self._form(account, to_type, request.POST)
        if not form.is_valid():
            return self._render(request, account, to_type, form, status=400)
        data = form.cleaned_data
        args = dict(
            to_type=to_type,
            option=data["option"],
            reason=data["reason"],
            effective_date=data["effective_date"] if data["option"] == ChangeOption.SPECIFIC_DATE else None,
            note=data["note"],
        )
        if "preview" in request.POST:
            try:
                outcome = preview_status_change(account_id=account.pk, **args)
            except DomainError as err:
                add_to_form(form, err)
                return self._render(request, account, to_type, form, status=err.status_code)
            return self._render(request, account, to_type, form, outcome)
        return _change_status(
            request, form, account, lambda status: self._render(request, account, to_type, form, status=status), **args
        )


class ComponentAddView(StaffRequiredMixin, View):
    """Components → Add → Change User Status: a dated change, listed until it is executed."""

    def _render(self, request, account, form, status=200):
        return render(
            request, "accounts/component_add.html", {"account": account, "form": form, "nav": "accounts"}, status=status
        )

    def get(self, request, pk):
        account = _account(pk)
        form = ComponentStatusForm(account=account, initial={"version": account.version, "effective_date": today()})
        return self._render(request, account, form)

    def post(self, request, pk):
        account = _account(pk)
        form = ComponentStatusForm(request.POST, account=account)
        if not form.is_valid():
            return self._render(request, account, form, status=400)
        data = form.cleaned_data
        return _change_status(
            request,
            form,
            account,
            lambda status: self._render(request, account, form, status=status),
            to_type=data["status_type"],
            option=ChangeOption.SPECIFIC_DATE,
            effective_date=data["effective_date"],
            reason=data["reason"],
        )


class ComponentRemoveView(StaffRequiredMixin, View):
    def post(self, request, pk, change_pk):
        account = _account(pk)
        if not StatusChange.objects.filter(pk=change_pk, account=account).exists():
            raise Http404("No such component on this account.")
        try:
            status_change_remove(change_id=change_pk, actor=request.user)
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, "The pending status change was removed.")
        return redirect("accounts:overview", account.pk)


class ToolsView(StaffRequiredMixin, View):
    """Tools: the Status link and Bill Account."""

    def get(self, request, pk):
        return render(request, "accounts/tools.html", {"account": _account(pk), "nav": "accounts"})

    def post(self, request, pk):
        account = _account(pk)
        try:
            invoice = bill_account(account_id=account.pk, as_of=today())
        except DomainError as err:
            messages.error(request, err.message)
            return redirect("accounts:tools", account.pk)
        if invoice is None:
            messages.info(request, "Nothing was due: no invoice was made.")
        else:
            lines = invoice.lines.count()
            messages.success(
                request,
                f"Billed {lines} line{'s' if lines != 1 else ''}, {invoice.total} in all (invoice {invoice.pk}).",
            )
        return redirect("accounts:tools", account.pk)
