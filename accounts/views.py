from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from billing.services import bill_account
from engage.clock import today
from engage.csv_stream import csv_response
from engage.errors import DomainError, add_to_form
from engage.keyset import KeysetPage, keyset_window, order_for, parse_marker
from engage.limits import parse_id
from engage.views import StaffRequiredMixin
from statuses.models import AccountStatusType
from statuses.rules import ChangeOption, StatusChangeState, needs_reason
from statuses.selectors import reasons_for

from .engine import (
    STALE,
    Position,
    account_change_status,
    allowed_targets,
    component_definitions,
    describe_change,
    option_definitions,
    option_heading,
    options_for,
    pending_changes_of,
    pending_summary,
    preview_status_change,
    resolve_effective_date,
    status_change_remove,
)
from .filters import DEFAULT_SORT, accounts_filtered, accounts_sorted, parse_sort
from .forms import ComponentStatusForm, StatusOptionForm, StatusPickForm
from .models import Account, StatusChange
from .selectors import count_up_to, earliest_pending_changes, pending_timeline, status_history

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
# Columns a phone leaves out (the number, name and status fit a 390 px screen; the Overview has the rest).
WIDE_ONLY = {"E-mail", "Bill day", "Back-end status", "Created"}
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
        header = {"label": label, "current": current, "aria_sort": None, "query": None,
                  "wide_only": label in WIDE_ONLY}
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
        return csv_response(self.columns, self._rows(queryset), filename="accounts.csv")

    def _rows(self, queryset):
        for account in queryset.iterator(chunk_size=EXPORT_CHUNK):
            kind = account.status_type
            yield (account.number, account.name, account.email, account.bill_day, kind.name,
                   kind.get_backend_status_display(), timezone.localtime(account.created_at).strftime("%Y-%m-%d %H:%M"))


class AccountOverviewView(StaffRequiredMixin, View):
    def get(self, request, pk):
        account = get_object_or_404(Account.objects.select_related("status_type"), pk=pk)
        return render(request, "accounts/overview.html", overview_context(account))


def overview_context(account):
    pending = [
        {"change": change, "before": before, "error": error,
         "summary": pending_summary(change, before.backend_status)}
        for change, before, error in pending_timeline(account)
    ]
    return {
        "account": account,
        "pending": pending,
        "history": list(status_history(account.pk)),
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
        return rerender(status=err.status_code)
    to_type = args["to_type"]
    if outcome.state == StatusChangeState.PENDING:
        messages.success(
            request,
            f"Status change to “{to_type.name}” scheduled for {outcome.effective_date:%Y-%m-%d}; "
            "it is shown beside the status and under Components until then.",
        )
    else:
        messages.success(request, f"Status changed to “{to_type.name}”.")
    return redirect("accounts:overview", account.pk)


def _preview_or_save(request, form, account, rerender, change_args):
    """Step 2 and Components → Add posted: the form's own check, then Preview (saves nothing; a refusal is put
    on the form and shown in the preview area too) or Save. `change_args(cleaned_data)` names the change;
    the engine reads the date only for Specific date. A form opened before the account last changed is refused
    first, by Preview as by Save (409): its choices were made for a state the account is no longer in."""
    posted = parse_id(request.POST.get("version"))
    if posted is not None and posted != account.version:
        form.is_valid()
        form.errors.clear()  # what the old form chose may not fit the new state: the one message is "reload"
        form.add_error(None, STALE)
        return rerender(status=409, previewed="preview" in request.POST)
    if not form.is_valid():
        return rerender(status=400, previewed="preview" in request.POST)
    args = change_args(form.cleaned_data)
    if "preview" not in request.POST:
        return _change_status(request, form, account, rerender, **args)
    try:
        outcome = preview_status_change(account_id=account.pk, **args)
    except DomainError as err:
        add_to_form(form, err)
        return rerender(status=err.status_code, previewed=True)
    return rerender(outcome=outcome, previewed=True)


def _allowed_targets(account):
    return allowed_targets(Position.now(account), pending_changes_of(account.pk), AccountStatusType.objects.all())


def _next_bill(account):
    """The day Period end takes effect today: the engine's rule, so the wording says what Save does."""
    return resolve_effective_date(account, ChangeOption.PERIOD_END, None, today())


class StatusPickView(StaffRequiredMixin, View):
    """Overview → Status, step 1: pick the new status type among those the rules allow."""

    def _render(self, request, account, form, status=200):
        context = {"account": account, "form": form, "nav": "accounts"}
        return render(request, "accounts/status_pick.html", context, status=status)

    def get(self, request, pk):
        account = _account(pk)
        return self._render(request, account, StatusPickForm(allowed=_allowed_targets(account)))

    def post(self, request, pk):
        account = _account(pk)
        form = StatusPickForm(request.POST, allowed=_allowed_targets(account))
        if form.is_valid():
            url = reverse("accounts:status-options", args=[account.pk, form.cleaned_data["status_type"].pk])
            return redirect(f"{url}?version={parse_id(request.POST.get('version')) or account.version}")
        return self._render(request, account, form, status=400)


class StatusOptionsView(StaffRequiredMixin, View):
    """Step 2: the options for this direction (Cancel / Suspend / Enable), reason, date, note, a preview of
    the exact lines, and Save."""

    def _form(self, account, to_type, data=None, version=None):
        backend = to_type.backend_status
        return StatusOptionForm(
            data,
            options=options_for(account.status_type.backend_status, backend),
            reasons=reasons_for(backend),
            reason_required=needs_reason(backend),
            today=today(),
            initial={"version": version or account.version},
        )

    def _render(self, request, account, to_type, form, outcome=None, previewed=False, status=200):
        from_backend, to_backend = account.status_type.backend_status, to_type.backend_status
        return render(
            request,
            "accounts/status_options.html",
            {
                "account": account,
                "to_type": to_type,
                "form": form,
                "outcome": outcome,
                "previewed": previewed,
                "heading": option_heading(from_backend, to_backend),
                "definitions": option_definitions(from_backend, to_backend, next_bill=_next_bill(account)),
                "nav": "accounts",
            },
            status=status,
        )

    def get(self, request, pk, type_pk):
        account = _account(pk)
        to_type = get_object_or_404(AccountStatusType, pk=type_pk)
        version = parse_id(request.GET.get("version"))
        return self._render(request, account, to_type, self._form(account, to_type, version=version))

    def post(self, request, pk, type_pk):
        account = _account(pk)
        to_type = get_object_or_404(AccountStatusType, pk=type_pk)
        form = self._form(account, to_type, request.POST)

        def rerender(**kwargs):
            return self._render(request, account, to_type, form, **kwargs)

        return _preview_or_save(request, form, account, rerender, lambda data: dict(
            to_type=to_type, option=data["option"], reason=data["reason"], effective_date=data["effective_date"],
            note=data["note"],
        ))


class ComponentAddView(StaffRequiredMixin, View):
    """Components → Add → Change User Status: a dated change (a date, or the period end), previewed like
    step 2, listed until it is executed."""

    def _form(self, account, data=None):
        return ComponentStatusForm(
            data, allowed=_allowed_targets(account), today=today(),
            initial={"version": account.version, "option": ChangeOption.SPECIFIC_DATE},
        )

    def _render(self, request, account, form, outcome=None, previewed=False, status=200):
        context = {
            "account": account, "form": form, "outcome": outcome, "previewed": previewed,
            "definitions": component_definitions(next_bill=_next_bill(account)), "option_legend": "When",
            "nav": "accounts",
        }
        return render(request, "accounts/component_add.html", context, status=status)

    def get(self, request, pk):
        account = _account(pk)
        return self._render(request, account, self._form(account))

    def post(self, request, pk):
        account = _account(pk)
        form = self._form(account, request.POST)

        def rerender(**kwargs):
            return self._render(request, account, form, **kwargs)

        return _preview_or_save(request, form, account, rerender, lambda data: dict(
            to_type=data["status_type"], option=data["option"], effective_date=data["effective_date"],
            reason=data["reason"],
        ))


class ComponentRemoveView(StaffRequiredMixin, View):
    """Remove a pending change: a confirmation page naming it (GET), then the removal (POST), recorded in the
    history and the audit log by the engine."""

    def _change(self, account, change_pk):
        change = (
            StatusChange.objects.select_related("to_type", "reason")
            .filter(pk=parse_id(change_pk), account=account).first()
        )
        if change is None:
            raise Http404("No such component on this account.")
        return change

    def get(self, request, pk, change_pk):
        account = _account(pk)
        change = self._change(account, change_pk)
        if change.state != StatusChangeState.PENDING:
            messages.info(request, f"The change to {describe_change(change)} is no longer pending.")
            return redirect("accounts:overview", account.pk)
        context = {"account": account, "change": change, "what": describe_change(change), "nav": "accounts"}
        return render(request, "accounts/component_remove.html", context)

    def post(self, request, pk, change_pk):
        account = _account(pk)
        change = self._change(account, change_pk)
        try:
            status_change_remove(change_id=change.pk, actor=request.user)
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Removed the pending change to {describe_change(change)}.")
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
                f"Billed {lines} line{'s' if lines != 1 else ''}, {invoice.total} in all "
                f"({invoice.get_kind_display().lower()} {invoice.pk}).",
            )
        return redirect("accounts:tools", account.pk)
