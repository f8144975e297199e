"""Bulk status change pages (SPEC §5): choose accounts and step 2, see the dry run, save, follow the
progress, cancel, and read or download the skipped accounts. Thin: services.py does the work."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from billing.models import ChargeKind
from engage.csv_stream import csv_response
from engage.errors import DomainError, add_to_form
from engage.limits import parse_id
from engage.views import StaffRequiredMixin
from statuses.rules import ChangeOption, ChangeOutcome

from ..engine import OPTION_DEFINITIONS
from ..filters import accounts_filtered
from ..models import BulkStatusJob
from .forms import BulkStatusForm
from .services import (
    MAX_CSV_BYTES,
    MAX_TICKED,
    bulk_change_submit,
    parse_numbers,
    shows_dry_run,
    skip_label,
    skip_rows,
)

FILTER_FIELDS = ("q", "status_type", "backend_status")
FILTER_PREFIX = "filter_"  # the filter's fields in step 2's form: its own `status_type` is the new status
SKIPPED_PAGE = 100


def _selection(params, prefix=""):
    """What the list handed over (plain names) or step 2's form carries (prefixed): ticked ids, or the list's
    filter (`all=1`), or nothing (a file then)."""
    if params.get("all") == "1":
        return {"filter_params": {k: params[prefix + k] for k in FILTER_FIELDS if params.get(prefix + k)}}
    ids = params.getlist("ids")
    if ids:
        if len(ids) > MAX_TICKED:
            raise DomainError(f"At most {MAX_TICKED:,} ticked accounts: use “Change status of all matching…” for more.")
        parsed = [parse_id(value) for value in ids]
        if None in parsed:
            raise DomainError("The ticked accounts are not valid: tick them again on the list.")
        return {"account_ids": parsed}
    return {}


def _selection_text(selection) -> str:
    if "account_ids" in selection:
        n = len(set(selection["account_ids"]))
        return f"{n:,} ticked account{'s' if n != 1 else ''}"
    if "filter_params" in selection:
        form = accounts_filtered(selection["filter_params"]).form
        shown = form.cleaned_data if form.is_valid() else {}  # a status type by its name, not its id
        parts = [f"{form.fields[k].label}: {shown.get(k) or v}" for k, v in selection["filter_params"].items()
                 if k in form.fields]
        return "Every account matching the list's filter" + (f" ({'; '.join(parts)})" if parts else " (all accounts)")
    return ""


class BulkStatusView(StaffRequiredMixin, View):
    template_name = "accounts/bulk_status.html"

    def _form(self, selection, data=None, files=None):
        options = [(o.value, o.label) for o in ChangeOption]
        return BulkStatusForm(data, files, options=options, needs_file=not selection)

    def _render(self, request, selection, form, status=200, error=None):
        return render(request, self.template_name, {
            "form": form, "selection": selection, "selection_text": _selection_text(selection),
            "hidden": ([("all", "1")] if "filter_params" in selection else [])
            + [(FILTER_PREFIX + k, v) for k, v in selection.get("filter_params", {}).items()]
            + [("ids", pk) for pk in selection.get("account_ids", [])],
            "definitions": OPTION_DEFINITIONS, "error": error, "nav": "accounts",
        }, status=status)

    def get(self, request):
        try:
            selection = _selection(request.GET)
        except DomainError as err:
            return self._render(request, {}, self._form({}), status=400, error=err.message)
        return self._render(request, selection, self._form(selection))

    def post(self, request):
        try:
            selection = _selection(request.POST, FILTER_PREFIX)
        except DomainError as err:
            return self._render(request, {}, self._form({}), status=400, error=err.message)
        form = self._form(selection, request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if not selection:
                    # Read one byte past the bound: a larger file is refused without reading it all.
                    selection = {"csv_numbers": parse_numbers(data["file"].read(MAX_CSV_BYTES + 1))}
                job, _created = bulk_change_submit(
                    actor=request.user, to_type=data["status_type"], option=data["option"],
                    effective_date=data.get("effective_date"), reason=data.get("reason"), note=data.get("note", ""),
                    dry_run=True, **selection,
                )
            except DomainError as err:
                add_to_form(form, err)
            else:
                return HttpResponseRedirect(reverse("accounts:bulk-job", args=[job.pk]))
        selection.pop("csv_numbers", None)
        return self._render(request, selection, form, status=400)


def _job(pk) -> BulkStatusJob:
    jobs = BulkStatusJob.objects.select_related("to_type", "reason", "created_by").defer("selection_params")
    return get_object_or_404(jobs, pk=pk)


def job_context(job: BulkStatusJob) -> dict:
    """What the job page and its progress fragment show."""
    checking = shows_dry_run(job)
    tally = job.dry_run if checking else job.result
    done = job.checked if checking else job.processed
    counts = tally.get("counts", {})
    return {
        "job": job,
        "checking": checking,
        "collecting": not job.collected and job.state in (BulkStatusJob.State.CHECKING, BulkStatusJob.State.QUEUED),
        "running": job.state in (BulkStatusJob.State.CHECKING, BulkStatusJob.State.QUEUED,
                                 BulkStatusJob.State.RUNNING, BulkStatusJob.State.CANCELLING),
        "done": done,
        "percent": int(100 * done / job.total) if job.total else 100,
        "applied": counts.get(ChangeOutcome.APPLIED, 0),
        "pending": counts.get(ChangeOutcome.PENDING, 0),
        "skipped": counts.get(ChangeOutcome.SKIPPED, 0),
        "skips": sorted(((skip_label(code), n) for code, n in tally.get("skips", {}).items()), key=lambda r: -r[1]),
        # By the kind's label ("Prorated credit"), as the Overview shows a line's kind.
        "totals": [(ChargeKind(kind).label if kind in ChargeKind.values else kind, amount)
                   for kind, amount in sorted(tally.get("totals", {}).items())],
        # Save only when it would change something: an all-skipped job offers no "Save: change 0 accounts".
        "can_save": job.state == BulkStatusJob.State.CHECKED
        and counts.get(ChangeOutcome.APPLIED, 0) + counts.get(ChangeOutcome.PENDING, 0) > 0,
        "nothing_to_save": job.state == BulkStatusJob.State.CHECKED
        and counts.get(ChangeOutcome.APPLIED, 0) + counts.get(ChangeOutcome.PENDING, 0) == 0,
        "can_cancel": job.state in (BulkStatusJob.State.CHECKING, BulkStatusJob.State.CHECKED,
                                    BulkStatusJob.State.QUEUED, BulkStatusJob.State.RUNNING),
    }


class BulkJobView(StaffRequiredMixin, View):
    def get(self, request, pk):
        return render(request, "accounts/bulk_job.html", {**job_context(_job(pk)), "nav": "accounts"})


class BulkJobProgressView(StaffRequiredMixin, View):
    """The progress fragment the job page polls (htmx) while the job runs."""

    def get(self, request, pk):
        return render(request, "accounts/_bulk_progress.html", job_context(_job(pk)))


class BulkJobActionView(StaffRequiredMixin, View):
    """Save a checked job, or cancel one (`action` from the URL); the wrong state is a 409 on the job page."""

    action = None  # bulk_change_start or bulk_change_cancel

    def post(self, request, pk):
        _job(pk)
        try:
            self.action(pk, actor=request.user)
        except DomainError as err:
            return render(request, "accounts/bulk_job.html",
                          {**job_context(_job(pk)), "error": err.message, "nav": "accounts"}, status=409)
        return HttpResponseRedirect(reverse("accounts:bulk-job", args=[pk]))


class BulkSkippedView(StaffRequiredMixin, View):
    """The skipped accounts, a page at a time (keyset on their position in the selection)."""

    def get(self, request, pk):
        job = _job(pk)
        after_text = request.GET.get("after", "")
        after = parse_id(after_text) if after_text else -1
        if after is None:
            raise Http404("No such page.")
        rows = list(skip_rows(job).filter(position__gt=after)[: SKIPPED_PAGE + 1])
        more = len(rows) > SKIPPED_PAGE
        rows = rows[:SKIPPED_PAGE]
        for row in rows:
            row.reason_text = skip_label(row.skip_code)
        return render(request, "accounts/bulk_skipped.html", {
            "job": job, "rows": rows, "next_after": rows[-1].position if more else None, "nav": "accounts",
        })


class BulkSkippedExportView(StaffRequiredMixin, View):
    """The skipped accounts as CSV, streamed."""

    def get(self, request, pk):
        job = _job(pk)

        rows = ((row.number, row.account_id or "", skip_label(row.skip_code), row.message)
                for row in skip_rows(job).iterator(chunk_size=2000))
        return csv_response(["Number", "Account id", "Why skipped", "Detail"], rows,
                            filename=f"bulk-change-{job.pk}-skipped.csv")
