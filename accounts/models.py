from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from engage.limits import (
    ACCOUNT_NAME_MAX_CHARS,
    EMAIL_MAX_CHARS,
    EXEMPTION_NOTE_MAX_CHARS,
    FAILURE_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    NOTE_MAX_CHARS,
    NUMBER_MAX_CHARS,
    SOURCE_MAX_CHARS,
)
from statuses.rules import ChangeOption, ChangeOutcome, StatusChangeState


class StatusAudit(models.TextChoices):
    """What the status-change engine and the bulk change record in the audit log (registered in apps.py)."""

    STATUS_CHANGE = "status_change", "Status change"
    STATUS_CHANGE_REMOVED = "status_change_removed", "Pending change removed"
    BULK_STATUS_CHANGE = "bulk_status_change", "Bulk status change"


class Account(models.Model):
    """A subscriber account. Never deleted; its status is one Account Status Type."""

    number = models.CharField(max_length=20, unique=True, null=True, editable=False)
    name = models.CharField(max_length=ACCOUNT_NAME_MAX_CHARS)
    email = models.EmailField(max_length=EMAIL_MAX_CHARS)
    bill_day = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(28)])
    status_type = models.ForeignKey("statuses.AccountStatusType", on_delete=models.PROTECT, related_name="accounts")
    created_at = models.DateTimeField(auto_now_add=True)
    left_prospect_on = models.DateField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)
    # Bumped by every status change: a form carries it, so a stale edit is refused.
    version = models.PositiveIntegerField(default=1)
    # Collections (SPEC §11) leaves the account alone until this date (inclusive), with why.
    collections_exempt_until = models.DateField(null=True, blank=True)
    collections_exempt_note = models.CharField(max_length=EXEMPTION_NOTE_MAX_CHARS, blank=True, default="",
                                               db_default="")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(bill_day__gte=1, bill_day__lte=28), name="account_bill_day_1_28"),
        ]
        indexes = [
            models.Index(fields=["status_type", "-id"], name="account_type_id_idx"),
            models.Index(Lower("email"), name="account_email_lower_idx"),
            # The list sorted by name, keyset-paged on (name, id): a page reads 51 index entries at any size.
            models.Index(fields=["name", "id"], name="account_name_id_idx"),
            models.Index(fields=["collections_exempt_until"], name="account_exempt_idx",
                         condition=models.Q(collections_exempt_until__isnull=False)),
        ]

    def __str__(self):
        return f"{self.number} {self.name}"


class StatusChange(models.Model):
    """One change of an account's status type: pending until its date, then applied or failed."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="status_changes")
    from_type = models.ForeignKey(
        "statuses.AccountStatusType", on_delete=models.PROTECT, related_name="left_changes", null=True, blank=True
    )
    to_type = models.ForeignKey("statuses.AccountStatusType", on_delete=models.PROTECT, related_name="targeted_changes")
    option = models.CharField(max_length=40, choices=ChangeOption.choices)
    effective_date = models.DateField()
    reason = models.ForeignKey(
        "statuses.StatusReason", on_delete=models.PROTECT, related_name="status_changes", null=True, blank=True
    )
    note = models.TextField(blank=True, max_length=NOTE_MAX_CHARS)
    state = models.CharField(max_length=10, choices=StatusChangeState.choices, default=StatusChangeState.PENDING)
    failure_reason = models.CharField(max_length=FAILURE_MAX_CHARS, blank=True)
    # Who asked when it was no person: "collection step Suspend after 14 days" (shown in the history).
    source = models.CharField(max_length=SOURCE_MAX_CHARS, blank=True, default="", db_default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    # Null when the scheduler applied it.
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-effective_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "effective_date"],
                condition=models.Q(state=StatusChangeState.PENDING),
                name="status_change_one_pending_per_day",
            ),
        ]
        indexes = [
            models.Index(
                fields=["effective_date", "id"],
                condition=models.Q(state=StatusChangeState.PENDING),
                name="status_change_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.account_id}: → {self.to_type_id} on {self.effective_date} ({self.state})"


class StatusTypeCount(models.Model):
    """Accounts per status type (SPEC §8): this count plus the type's StatusTypeCountDelta rows not folded in
    yet (accounts/engine/counters.py)."""

    status_type = models.OneToOneField(
        "statuses.AccountStatusType", on_delete=models.CASCADE, primary_key=True, related_name="counter"
    )
    count = models.BigIntegerField(default=0)


class StatusTypeCountDelta(models.Model):
    """What a transaction changed in the accounts per status type, appended in that transaction: a new row,
    never an update, so two status changes never wait on one counter row. A pass folds them into
    StatusTypeCount every minute (accounts/engine/counters.py)."""

    status_type = models.ForeignKey("statuses.AccountStatusType", on_delete=models.CASCADE, related_name="+")
    delta = models.BigIntegerField()


class BulkStatusJob(models.Model):
    """A bulk status change (SPEC §5): one request for many accounts, checked (dry run) and then run in the
    background, chunk by chunk through the engine's batch path. Its accounts are BulkStatusItem rows."""

    class State(models.TextChoices):
        CHECKING = "checking", "Checking (dry run)"
        CHECKED = "checked", "Checked: ready to save"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Selection(models.TextChoices):
        TICKED = "ticked", "Ticked rows"
        FILTER = "filter", "All accounts matching a filter"
        CSV = "csv", "Account numbers from a CSV file"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The normalized request (selection, step 2, day, who): the same request twice is the same job.
    request_key = models.CharField(max_length=80, unique=True)
    selection = models.CharField(max_length=10, choices=Selection.choices)
    # The filter or the file, as the page shows it.
    selection_text = models.CharField(max_length=MESSAGE_MAX_CHARS, blank=True)
    # The selection as asked ({"ids": [...]}, {"filter": {...}} or {"numbers": [...]}); the worker writes it out as
    # items (`collected`), so a filter matching a million accounts is never resolved inside a request.
    selection_params = models.JSONField(default=dict)
    collected = models.BooleanField(default=False)
    to_type = models.ForeignKey("statuses.AccountStatusType", on_delete=models.PROTECT, related_name="+")
    option = models.CharField(max_length=40, choices=ChangeOption.choices)
    effective_date = models.DateField(null=True, blank=True)
    reason = models.ForeignKey("statuses.StatusReason", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    note = models.TextField(blank=True, max_length=NOTE_MAX_CHARS)
    requested_on = models.DateField()  # the business day it was asked on (the engine's `on`)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CHECKING)
    total = models.PositiveIntegerField(default=0)
    # Progress, and the cursor of the next chunk: items are done in position order, so the items before
    # `checked` (the dry run) or `processed` (the run) have their outcome; the run overwrites the dry run's.
    checked = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    # Counts by outcome ({"applied": n, "pending": n, "skipped": n}), skip reasons ({code: n}) and the
    # transactions' totals by kind ({kind: "amount"}), of the dry run and then of the run.
    dry_run = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Bulk change #{self.pk} to {self.to_type_id} ({self.state})"


class BulkStatusItem(models.Model):
    """One account of a bulk change, in the order it was selected; its outcome once checked or run."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        APPLIED = ChangeOutcome.APPLIED.value, ChangeOutcome.APPLIED.label
        PENDING = ChangeOutcome.PENDING.value, ChangeOutcome.PENDING.label
        SKIPPED = ChangeOutcome.SKIPPED.value, ChangeOutcome.SKIPPED.label

    job = models.ForeignKey(BulkStatusJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    account_id = models.BigIntegerField(null=True, blank=True)  # None: an unknown number from a file
    number = models.CharField(max_length=NUMBER_MAX_CHARS, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    skip_code = models.CharField(max_length=20, blank=True)
    # The account's version when the dry run checked it: the run leaves an account that changed since alone.
    checked_version = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=MESSAGE_MAX_CHARS, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="bulk_item_position_unique")]
        indexes = [models.Index(fields=["job", "state", "position"], name="bulk_item_state_idx")]
