"""Bulk status change (SPEC §5): pick accounts (ticked rows, the list's filter, a CSV of numbers), check the
request against each of them (dry run), then run it in the background, chunk by chunk, through the
engine's batch path (`change_status_batch`): the same rules, history, provisioning and e-mail as a single
change. The request stores the selection as asked (ids, the filter's parameters, or the numbers); the worker writes
it out as rows (BulkStatusItem), set-based in chunks, so a selection of hundreds of thousands is never
resolved inside a request nor held as model objects. Items are done in position order, a chunk at a time;
each chunk's changes, its items' outcomes and the job's cursor commit together, so a worker killed midway
resumes after the last chunk that committed, and nothing is applied twice.

    job, created = bulk_change_submit(actor=user, filter_params={"backend_status": "active"},
                                      to_type=suspended, option="period_end", reason=non_payment)
    bulk_change_run(job.pk)       # the Celery task's body: the dry run, or the run once saved
"""

import csv
import hashlib
import io
import json
import logging
from collections import Counter, defaultdict
from contextlib import nullcontext
from datetime import date
from decimal import Decimal

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone

from engage import broker
from engage.audit import audit_actor, audit_record, user_of
from engage.clock import today
from engage.errors import ConflictError, DomainError
from engage.limits import ERROR_MAX_CHARS, MESSAGE_MAX_CHARS, NUMBER_MAX_CHARS, visible
from engage.outbox import handler, outbox_add
from statuses.rules import ChangeOutcome

from ..engine import BatchResult, SkipCode, change_request, change_status_batch
from ..filters import accounts_filtered
from ..models import Account, BulkStatusItem, BulkStatusJob, StatusAudit

logger = logging.getLogger(__name__)

Job = BulkStatusJob
CHUNK = 500  # accounts per engine call and transaction
MAX_ACCOUNTS = 1_000_000
MAX_TICKED = 1_000
MAX_CSV_BYTES = 2_000_000
MAX_CSV_NUMBERS = 200_000
OPEN_STATES = (Job.State.CHECKING, Job.State.QUEUED, Job.State.RUNNING, Job.State.CANCELLING)
RUN_KIND = "accounts.bulk_status_job"


def _shown(text: str) -> str:
    """A value as a message may show it: each character that does not print as U+XXXX (a right-to-left override
    would turn the message round)."""
    return "".join(ch if ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in text)


def check_numbers(numbers: list[str], *, field: str) -> list[str]:
    """Account numbers as a file or a request gives them, the one rule for both: each at most NUMBER_MAX_CHARS
    characters that print (no control, invisible formatting or separator character) with one that shows; the
    same number twice counts once. Raises DomainError naming `field`."""
    for place, number in enumerate(numbers, 1):
        if not (isinstance(number, str) and 0 < len(number) <= NUMBER_MAX_CHARS and number.isprintable()
                and any(visible(ch) for ch in number)):
            raise DomainError(f"Number {place:,}, “{_shown(str(number)[:NUMBER_MAX_CHARS])}”, is not an account "
                              f"number: at most {NUMBER_MAX_CHARS} characters that print, without control or "
                              "invisible characters.", field=field)
    return list(dict.fromkeys(numbers))


def parse_numbers(raw: bytes) -> list[str]:
    """Account numbers from an uploaded file: one per line, or a CSV (RFC 4180: a cell in double quotes may
    hold commas, quotes doubled and line breaks) whose `number` column holds them (its first column
    otherwise); blank rows dropped. Raises DomainError with what is wrong."""
    if len(raw) > MAX_CSV_BYTES:
        raise DomainError(f"The file is larger than {MAX_CSV_BYTES // 1_000_000} MB.", field="file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text: save it as CSV (UTF-8).", field="file") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, column = [], 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if not rows and column == 0 and "number" in (header := [cell.strip().lower() for cell in row]):
                column = header.index("number")
                rows.append(None)  # the header: not a number
                continue
            rows.append(row)
            if len(rows) > MAX_CSV_NUMBERS + 1:
                break
    except csv.Error as err:
        raise DomainError(f"Line {reader.line_num:,} of the file is not CSV ({err}): a cell that holds a comma, "
                          "a quote or a line break goes in double quotes, each quote in it doubled.",
                          field="file") from None
    numbers = [row[column].strip() for row in rows if row is not None and len(row) > column and row[column].strip()]
    if not numbers:
        raise DomainError("The file holds no account numbers.", field="file")
    if len(numbers) > MAX_CSV_NUMBERS:
        raise DomainError(f"At most {MAX_CSV_NUMBERS:,} account numbers per file.", field="file")
    return check_numbers(numbers, field="file")


def _key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _selection(account_ids, filter_params, csv_numbers):
    given = [x is not None for x in (account_ids, filter_params, csv_numbers)]
    if sum(given) != 1:
        raise DomainError("Choose the accounts: ticked rows, the list's filter, or a file of account numbers.")
    if account_ids is not None:
        ids = sorted({int(pk) for pk in account_ids})
        if not ids:
            raise DomainError("Tick at least one account.", field="account_ids")
        # The page and the API stop at MAX_TICKED; a caller in code (a command, the benchmark) may pass more.
        if len(ids) > MAX_ACCOUNTS:
            raise DomainError(f"At most {MAX_ACCOUNTS:,} accounts in one bulk change.", field="account_ids")
        return Job.Selection.TICKED, {"ids": ids}, f"{len(ids):,} ticked accounts"
    if filter_params is not None:
        filterset = accounts_filtered(filter_params)
        if not filterset.is_valid():
            raise DomainError("The list's filter is not valid: choose the accounts again from the list.")
        params = {k: v for k, v in sorted(filterset.form.cleaned_data.items()) if v not in (None, "")}
        params = {k: getattr(v, "pk", v) for k, v in params.items()}
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in params.items()) or "all accounts"
        text = f"Matching: {text}"[:MESSAGE_MAX_CHARS]
        return Job.Selection.FILTER, {"filter": {k: str(v) for k, v in params.items()}}, text
    csv_numbers = check_numbers(list(csv_numbers), field="numbers")
    if not csv_numbers:
        raise DomainError("Give at least one account number.", field="numbers")
    return Job.Selection.CSV, {"numbers": csv_numbers}, f"{len(csv_numbers):,} account numbers from a file"


@transaction.atomic
def bulk_change_submit(
    *, actor, account_ids=None, filter_params=None, csv_numbers=None, to_type, option, effective_date=None,
    reason=None, note: str = "", dry_run: bool = True, on: date | None = None,
) -> tuple[BulkStatusJob, bool]:
    """Create the job (its selection as asked: the worker writes out its accounts) and hand it to a worker
    (its dry run, or its run). The same request again (same person, day, accounts and step 2) is the same
    job: (the job, False), and nothing more happens. Request-level errors (option, reason, date, note, a
    filter matching nothing) raise DomainError and save nothing."""
    on = on or today()
    kind, selection, text = _selection(account_ids, filter_params, csv_numbers)
    note = change_request(to_type=to_type, option=option, effective_date=effective_date, reason=reason, note=note,
                          on=on).note
    if "filter" in selection and not accounts_filtered(selection["filter"]).qs.exists():
        raise DomainError("No account matches: nothing to change.")
    key = _key(actor=getattr(actor, "pk", None), on=on, selection=selection, to_type=to_type.pk, option=option,
               effective_date=effective_date, reason=getattr(reason, "pk", None), note=note)
    existing = Job.objects.select_for_update().filter(request_key=key).first()
    if existing is not None and existing.state in (Job.State.FAILED, Job.State.CANCELLED):
        existing.request_key = f"{key}:{existing.pk}"  # ended without doing it all: the same request may run again
        existing.save(update_fields=["request_key"])
        existing = None
    if existing is not None:
        if not dry_run and existing.state == Job.State.CHECKED:
            return bulk_change_start(existing.pk, actor=actor), False
        return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                created_by=user_of(actor), request_key=key,
                selection=kind, selection_text=text, selection_params=selection, to_type=to_type, option=option,
                effective_date=effective_date, reason=reason, note=note, requested_on=on,
                state=Job.State.CHECKING if dry_run else Job.State.QUEUED,
            )
    except IntegrityError:  # the same request, submitted at the same moment: that one is the job
        return Job.objects.get(request_key=key), False
    audit_record(action=StatusAudit.BULK_STATUS_CHANGE, obj=job, object_repr=f"Bulk change #{job.pk}: {text}",
                 after={"to": to_type.name, "option": option, "effective_date": effective_date,
                        "reason": reason.name if reason else None, "selection": text, "dry_run": dry_run})
    _hand_over(job)
    return job, True


class _TooMany(Exception):
    pass


COLLECT_STEP = 20_000  # items written per transaction while collecting; cancel is checked between steps
INSERT_ROWS = 5_000  # rows per INSERT


def _collect_step(job: BulkStatusJob) -> None:
    """Write out the next COLLECT_STEP accounts of the selection as items, after the last one written (so a
    worker killed midway is followed by one that goes on from there); `collected` once all are. Ids and
    numbers keep their order in the request; a filter's matches come in pk order."""
    last = job.items.order_by("-position").values("position", "account_id").first()
    position = last["position"] + 1 if last else 0
    selection = Job.objects.filter(pk=job.pk).values_list("selection_params", flat=True).get()
    if "filter" in selection:
        qs = accounts_filtered(selection["filter"]).qs.order_by("pk")
        if last:
            qs = qs.filter(pk__gt=last["account_id"])
        rows = list(qs.values_list("pk", "number")[:COLLECT_STEP])
    elif "ids" in selection:
        ids = selection["ids"][position : position + COLLECT_STEP]
        known = dict(Account.objects.filter(pk__any=ids).values_list("pk", "number"))
        rows = [(pk, known.get(pk, "")) for pk in ids]
    else:
        numbers = selection["numbers"][position : position + COLLECT_STEP]
        found = {}
        for i in range(0, len(numbers), INSERT_ROWS):
            found.update(Account.objects.filter(number__in=numbers[i : i + INSERT_ROWS]).values_list("number", "pk"))
        rows = [(found.get(number), number) for number in numbers]
    if position + len(rows) > MAX_ACCOUNTS:
        raise _TooMany
    for i in range(0, len(rows), INSERT_ROWS):
        BulkStatusItem.objects.bulk_create(
            [BulkStatusItem(job=job, position=position + i + j, account_id=pk, number=number or "")
             for j, (pk, number) in enumerate(rows[i : i + INSERT_ROWS])]
        )
    job.total = position + len(rows)
    job.collected = len(rows) < COLLECT_STEP
    job.save(update_fields=["total", "collected"])


def _hand_over(job: BulkStatusJob) -> None:
    # A row in this transaction, handed to a worker after commit; the relay hands it over if that fails.
    outbox_add(RUN_KIND, job_id=job.pk)


# Named as it was when the bulk change was one module, so messages queued before an upgrade still run.
@shared_task(name="accounts.bulk.bulk_status_change_task", acks_late=True)
def bulk_status_change_task(job_id: int):
    """The worker's task (registered through accounts/tasks.py): the job's dry run or run."""
    job = bulk_change_run(job_id)
    return {"job": job.pk, "state": job.state}


@handler(RUN_KIND)
def _start_worker(job_id: int) -> None:
    """The outbox's consumer only starts the job's own task: a job runs for minutes, chunk by chunk in its
    own transactions, never inside the consumer's. A refused hand-over keeps the message open for the relay."""
    if not broker.send(bulk_status_change_task, job_id):
        raise RuntimeError("The broker did not take the bulk status change; the relay hands it over again.")


@transaction.atomic
def bulk_change_start(job_id: int, *, actor=None) -> BulkStatusJob:
    """Save a checked job: its accounts wait again, and a worker runs it."""
    job = Job.objects.select_for_update().defer("selection_params").get(pk=job_id)
    if job.state != Job.State.CHECKED:
        raise ConflictError(f"This bulk change is {job.get_state_display().lower()}; it cannot be saved now.")
    # The items keep the dry run's outcomes: the run overwrites them chunk by chunk (its cursor is `processed`).
    job.state = Job.State.QUEUED
    job.save(update_fields=["state"])
    _hand_over(job)
    return job


@transaction.atomic
def bulk_change_cancel(job_id: int, *, actor=None) -> BulkStatusJob:
    """Stop a job after the chunk it is on: what was changed stays changed and is listed."""
    job = Job.objects.select_for_update().defer("selection_params").get(pk=job_id)
    if job.state == Job.State.CHECKED or job.state == Job.State.CHECKING:
        job.state, job.finished_at = Job.State.CANCELLED, timezone.now()
    elif job.state in (Job.State.QUEUED, Job.State.RUNNING):
        job.state = Job.State.CANCELLING
    else:
        raise ConflictError(f"This bulk change is {job.get_state_display().lower()}; there is nothing to cancel.")
    job.save(update_fields=["state", "finished_at"])
    return job


def bulk_change_run(job_id: int) -> BulkStatusJob:
    """The worker's part: the dry run of a job being checked, or the run of a saved one, chunk by chunk; a
    job another worker is on, or that is finished, is left alone. Returns the job as it ends. A chunk that
    crashes is rolled back (its accounts are untouched) and the job is marked failed with the error."""
    # The audit log credits the job's changes to whoever asked for it, not to "system".
    creator = Job.objects.filter(pk=job_id).values_list("created_by", "created_by__username").first()
    asked_by = audit_actor(creator[1], user_id=creator[0]) if creator and creator[0] else nullcontext()
    try:
        with asked_by:
            return _run(job_id)
    except Exception as exc:
        logger.exception("Bulk status change %s failed", job_id)
        Job.objects.filter(pk=job_id, state__in=OPEN_STATES).update(
            state=Job.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS], finished_at=timezone.now()
        )
        return Job.objects.get(pk=job_id)


def _run(job_id: int) -> BulkStatusJob:
    while True:
        with transaction.atomic():
            # The selection (up to 200,000 numbers) is read only while collecting.
            job = Job.objects.select_for_update(skip_locked=True).defer("selection_params").filter(pk=job_id).first()
            if job is None or job.state not in OPEN_STATES:
                return job or Job.objects.get(pk=job_id)
            if job.state == Job.State.CANCELLING:
                job.state, job.finished_at = Job.State.CANCELLED, timezone.now()
                job.save(update_fields=["state", "finished_at"])
                return job
            if not job.collected:
                try:
                    with transaction.atomic():
                        _collect_step(job)
                except _TooMany:
                    job.state, job.finished_at = Job.State.FAILED, timezone.now()
                    job.error = f"More than {MAX_ACCOUNTS:,} accounts match: choose fewer (a narrower filter)."
                    job.save(update_fields=["state", "error", "finished_at"])
                    return job
                continue  # committed: the next step, or the chunks, each in its own transaction
            if not _next_chunk(job):
                job.state = Job.State.CHECKED if job.state == Job.State.CHECKING else Job.State.DONE
                job.finished_at = timezone.now() if job.state == Job.State.DONE else None
                job.save(update_fields=["state", "finished_at"])
                return job


def _next_chunk(job: BulkStatusJob) -> bool:
    """Check or run the next chunk of waiting accounts, in the job row's transaction (locked); False when
    none is left."""
    checking = job.state == Job.State.CHECKING
    cursor = job.checked if checking else job.processed
    items = list(job.items.filter(position__gte=cursor).order_by("position")[:CHUNK])
    if not items:
        return False
    if job.state == Job.State.QUEUED:
        job.state, job.started_at = Job.State.RUNNING, timezone.now()
    known = [item.account_id for item in items if item.account_id is not None]
    results = {}
    if known:
        expected = None if checking else {item.account_id: item.checked_version for item in items}
        try:
            results = _change(job, known, checking, expected)
        except DomainError as err:  # the request is refused for every account now (a reason retired since)
            job.state, job.error, job.finished_at = Job.State.FAILED, err.message, timezone.now()
            job.save(update_fields=["state", "error", "finished_at", "started_at"])
            return True
        except Exception:  # one bad account must not stop the job: this chunk account by account
            logger.exception("Bulk status change %s: a chunk of %s failed together; one by one", job.pk, len(known))
            results = {pk: _change_one(job, pk, checking, expected) for pk in known}
    tally = job.dry_run if checking else job.result
    counts, skips = Counter(tally.get("counts", {})), Counter(tally.get("skips", {}))
    totals = defaultdict(Decimal, {k: Decimal(v) for k, v in tally.get("totals", {}).items()})
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for item in items:
        result = results.get(item.account_id)
        if result is None:
            outcome = (ChangeOutcome.SKIPPED, SkipCode.UNKNOWN_ACCOUNT, f"No account with number {item.number}.")
        else:
            outcome = (result.state, result.skip_code, result.message[:MESSAGE_MAX_CHARS])
            for line in result.transactions:
                totals[line.kind] += line.amount
        groups[outcome].append(item.pk)
        counts[outcome[0]] += 1
        if outcome[1]:
            skips[outcome[1]] += 1
    for (state, code, message), ids in groups.items():
        BulkStatusItem.objects.filter(pk__any=ids).update(state=state, skip_code=code, message=message)
    if checking:  # the version each account had when checked (few distinct values: an UPDATE each)
        versions: dict[int, list[int]] = defaultdict(list)
        for item in items:
            if item.account_id in results and results[item.account_id].version is not None:
                versions[results[item.account_id].version].append(item.pk)
        for version, ids in sorted(versions.items()):
            BulkStatusItem.objects.filter(pk__any=ids).update(checked_version=version)
    tally.update(counts=dict(counts), skips=dict(skips), totals={k: str(v) for k, v in sorted(totals.items())})
    if checking:
        job.checked += len(items)
    else:
        job.processed += len(items)
    job.save(update_fields=["state", "started_at", "dry_run", "result", "checked", "processed"])
    return True


def _change(job: BulkStatusJob, account_ids: list[int], checking: bool, expected=None) -> dict[int, BatchResult]:
    """The job's change for these accounts through the engine's batch path, in a savepoint: all or nothing. A
    run passes the versions its dry run read: an account changed since is left alone."""
    with transaction.atomic():
        return {r.account_id: r for r in change_status_batch(
            account_ids=account_ids, to_type=job.to_type, option=job.option, effective_date=job.effective_date,
            reason=job.reason, note=job.note, actor=job.created_by, on=job.requested_on, dry_run=checking,
            expected_versions=expected,
        )}


def _change_one(job: BulkStatusJob, account_id: int, checking: bool, expected=None) -> BatchResult:
    """One account of a chunk that failed together: its result, or skipped with the error that stopped it
    (rolled back: nothing of it changed)."""
    try:
        return _change(job, [account_id], checking, expected)[account_id]
    except Exception as exc:
        logger.exception("Bulk status change %s: account %s failed", job.pk, account_id)
        return BatchResult(account_id, ChangeOutcome.SKIPPED, SkipCode.ERROR,
                           f"{type(exc).__name__}: {exc}"[:MESSAGE_MAX_CHARS])


def shows_dry_run(job: BulkStatusJob) -> bool:
    """Whether the job shows its dry run (being checked, ready to save, or ended before its run started)
    rather than its run."""
    return job.state in (Job.State.CHECKING, Job.State.CHECKED) or (
        job.state in (Job.State.CANCELLED, Job.State.FAILED) and job.started_at is None)


def done_upto(job: BulkStatusJob) -> int:
    """The position before which the items hold the outcome the job shows (the others still hold the dry
    run's, or nothing yet)."""
    return job.checked if shows_dry_run(job) else job.processed


def skip_rows(job: BulkStatusJob):
    """The job's skipped accounts, in selection order."""
    return job.items.filter(state=BulkStatusItem.State.SKIPPED, position__lt=done_upto(job)).order_by("position")


def skip_label(code: str) -> str:
    return SkipCode(code).label if code in SkipCode.values else code
