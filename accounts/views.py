import csv

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from billing.selectors import account_billing_summary
from billing.services import bill_account
from engage.clock import today
from engage.errors import DomainError, add_to_form
from engage.keyset import KeysetPage, keyset_window, order_for, parse_marker
from engage.limits import parse_id
from engage.views import StaffRequiredMixin
from provisioning.selectors import provisioning_summary
from statuses.models import AccountStatusType
from statuses.rules import ChangeOption, StatusChangeState, needs_reason
from statuses.selectors import reasons_for

from .filters import DEFAULT_SORT, accounts_filtered, accounts_sorted, parse_sort
from .forms import ComponentStatusForm, StatusOptionForm, StatusPickForm
from .models import Account, StatusChange
from .selectors import count_up_to, earliest_pending_changes, pending_timeline, status_history
from .status_changes import (
    OPTION_DEFINITIONS,
    account_change_status,
    options_for,
    preview_status_change,
    status_change_remove,
)

PAGE_SIZE = 50
COUNT_CAP = 1000  # the list counts this far and then says "more than 1,000 accounts"
EXPORT_CHUNK = 2000
# The list's query string, so that the Overview's "Accounts" link goes back to the same filters and page.
LIST_QUERY_KEY = "accounts_list_query"
LIST_QUERY_MAX_CHARS = 2000
LIST_COLUMNS = (
    ("number", "Number"), ("name", "Name"), (None, "E-mail"), (None, "Bill day"), ("status", "Status"),
    (None, "Back-end status"), ("created", "Created"),
)
BAD_SORT = "That sort is not one this list offers: showing the newest accounts first."
BAD_MARKER = "That page link is not valid (or no longer is): showing the first page."


def _query(params, **changes) -> str:
    """The list's query string with some parameters set (a value) or dropped (None)."""
    params = params.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = str(value)
    return params.urlencode()


def _count_text(count: int) -> str:
    if count > COUNT_CAP:
        return f"more than {COUNT_CAP:,} accounts"
    return f"{count} account{'' if count == 1 else 's'}"


def _headers(params, sort_name: str, descending: bool) -> list[dict]:
    """Column headers: a sortable one links to its sort (the other way round when it is the current one)."""
    headers = []
    for name, label in LIST_COLUMNS:
        current = name == sort_name
        header = {"label": label, "current": current, "aria_sort": None, "query": None}
        if name:
            toggled = f"-{name}" if current and not descending else name
            header["query"] = _query(params, sort=toggled, after=None, before=None)
        if current:
            header["aria_sort"] = "descending" if descending else "ascending"
        headers.append(header)
    return headers


class AccountListView(StaffRequiredMixin, View):
    """Search, filters and sorting; keyset paging on (sort value, id) both ways, so page N costs what page 1
    does, and a count that stops at COUNT_CAP (no COUNT(*) over every account)."""

    def get(self, request):
        filterset = accounts_filtered(request.GET)
        errors = []
        parsed = parse_sort(request.GET.get("sort"))
        if parsed is None:
            errors.append(BAD_SORT)
            parsed = parse_sort(DEFAULT_SORT)
        sort_name, sort, descending = parsed
        after_text, before_text = request.GET.get("after", ""), request.GET.get("before", "")
        after = before = None
        if (after_text or before_text) and not errors:  # a marker of a bad sort means nothing: dropped
            after = parse_marker(after_text, has_value=sort.key is not None) if after_text else None
            before = parse_marker(before_text, has_value=sort.key is not None) if before_text else None
            if (after_text and before_text) or (after is None and before is None):
                errors.append(BAD_MARKER)
                after = before = None
        page, count = KeysetPage([], None, None), None
        if filterset.is_valid():
            queryset = accounts_sorted(filterset.qs, sort)
            window = dict(key=sort.key, descending=descending, size=PAGE_SIZE)
            page = keyset_window(queryset, after=after, before=before, **window)
            if before is not None and not page.rows:  # nothing before that row any more: the first page
                page = keyset_window(queryset, **window)
            count = count_up_to(filterset.qs, COUNT_CAP)
            pending = earliest_pending_changes(account.pk for account in page.rows)
            for account in page.rows:
                account.pending = pending.get(account.pk)
            if not errors:
                self._remember(request)
        # Links keep the filters and the sort (a bad one replaced by the default), never a page marker.
        params = request.GET.copy()
        params["sort"] = f"{'-' if descending else ''}{sort_name}"
        query = _query(params, after=None, before=None)
        return render(
            request,
            "accounts/list.html",
            {
                "form": filterset.form,
                "errors": errors,
                "accounts": page.rows,
                "headers": _headers(params, sort_name, descending),
                "count_text": None if count is None else _count_text(count),
                "first_query": query if page.previous or after else None,
                "previous_query": _query(params, after=None, before=page.previous) if page.previous else None,
                "next_query": _query(params, before=None, after=page.next) if page.next else None,
                "export_query": query,
                "sort": params["sort"],
                "nav": "accounts",
            },
            status=200 if filterset.is_valid() and not errors else 400,
        )

    @staticmethod
    def _remember(request):
        query = request.GET.urlencode()
        if len(query) <= LIST_QUERY_MAX_CHARS and request.session.get(LIST_QUERY_KEY, "") != query:
            request.session[LIST_QUERY_KEY] = query


class _Echo:
    """csv.writer writes each row here and gets the line back, to stream it."""

    def write(self, value):
        return value


def _csv_cell(value):
    # A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): make it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


class AccountExportView(StaffRequiredMixin, View):
    """The filtered, sorted list as CSV, streamed from an iterator: memory stays flat at a million rows."""

    columns = ("Number", "Name", "E-mail", "Bill day", "Status type", "Back-end status", "Created")

    def get(self, request):
        filterset = accounts_filtered(request.GET)
        parsed = parse_sort(request.GET.get("sort"))
        if not filterset.is_valid() or parsed is None:
            return HttpResponseBadRequest("Those filters or that sort are not valid: export again from the list.",
                                          content_type="text/plain; charset=utf-8")
        _name, sort, descending = parsed
        queryset = accounts_sorted(filterset.qs, sort).order_by(*order_for(sort.key, descending))
        response = StreamingHttpResponse(self._lines(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="accounts.csv"'
        return response

    def _lines(self, queryset):
        writer = csv.writer(_Echo())
        yield writer.writerow(self.columns)
        for account in queryset.iterator(chunk_size=EXPORT_CHUNK):
            kind = account.status_type
            yield writer.writerow([_csv_cell(value) for value in (
                account.number, account.name, account.email, account.bill_day, kind.name,
                kind.get_backend_status_display(), timezone.localtime(account.created_at).strftime("%Y-%m-%d %H:%M"),
            )])


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
