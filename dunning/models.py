"""Collections (SPEC §11): the steps an operator sets up, the overdue episodes of accounts, the steps each
episode ran (once each: a constraint), and the aging the collections pass counts."""

from django.db import models

from engage.limits import (
    BODY_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    NAME_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    TOTAL_MAX_DIGITS,
)
from statuses.rules import BackendStatus, ChangeOption

PASS_NAME = "collections"  # the collections pass's runs (PassRun.name), read by the pass and the restore


class CollectionAction(models.TextChoices):
    REMINDER = "reminder", "Send a reminder e-mail"
    STATUS_CHANGE = "status_change", "Change the status"


class CollectionStep(models.Model):
    """After `days_overdue` days overdue with at least `min_amount` overdue, do one action once per episode."""

    name = models.CharField(max_length=NAME_MAX_CHARS)
    position = models.PositiveIntegerField(default=1)
    days_overdue = models.PositiveIntegerField()
    min_amount = models.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=0)
    action = models.CharField(max_length=20, choices=CollectionAction.choices)
    # A status change: to this type, with this reason and option (SPEC §5).
    status_type = models.ForeignKey(
        "statuses.AccountStatusType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.ForeignKey("statuses.StatusReason", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    option = models.CharField(max_length=40, choices=ChangeOption.choices, blank=True)
    # On payment the account goes back to the type it had before the episode, or to this one.
    restore_to = models.ForeignKey(
        "statuses.AccountStatusType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A reminder: the e-mail, with {placeholders}.
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS, blank=True)
    body = models.TextField(blank=True, max_length=BODY_MAX_CHARS)

    class Meta:
        ordering = ["position", "days_overdue", "id"]
        constraints = [
            models.UniqueConstraint(models.functions.Lower("name"), name="collection_step_name_unique_ci"),
            models.CheckConstraint(condition=models.Q(min_amount__gte=0), name="collection_step_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(action="reminder", status_type__isnull=True) & ~models.Q(subject="")
                | models.Q(action="status_change", status_type__isnull=False) & ~models.Q(option=""),
                name="collection_step_action_complete",
            ),
        ]

    def __str__(self):
        return self.name


class CollectionEpisode(models.Model):
    """A time an account was overdue: from the first pass that found it so until nothing is overdue."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="collection_episodes")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    # The status type before a step first moved the account, and the last change a step made.
    type_before = models.ForeignKey(
        "statuses.AccountStatusType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    moved_change = models.ForeignKey(
        "accounts.StatusChange", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    moved_by = models.ForeignKey(CollectionStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    restored_change = models.ForeignKey(
        "accounts.StatusChange", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Why it ended as it did: restored, not restored because someone changed the status by hand, …
    outcome = models.CharField(max_length=MESSAGE_MAX_CHARS, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=models.Q(ended_on__isnull=True),
                                    name="collection_episode_one_open_per_account"),
        ]

    def __str__(self):
        return f"Episode {self.pk} of account {self.account_id} from {self.started_on:%Y-%m-%d}"


class StepRun(models.Model):
    """A step an episode ran (or passed over for a later step due the same day): at most once (constraint)."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Reminder sent"
        APPLIED = "applied", "Status changed"
        SCHEDULED = "scheduled", "Status change scheduled"
        SKIPPED = "skipped", "Skipped"
        PASSED_OVER = "passed_over", "Passed over (a later step was due the same day)"

    episode = models.ForeignKey(CollectionEpisode, on_delete=models.CASCADE, related_name="step_runs")
    step = models.ForeignKey(CollectionStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs")
    step_name = models.CharField(max_length=NAME_MAX_CHARS)
    ran_on = models.DateField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    change = models.ForeignKey("accounts.StatusChange", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    message = models.CharField(max_length=MESSAGE_MAX_CHARS, blank=True)

    class Meta:
        ordering = ["ran_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "step"], name="step_run_once_per_episode"),
        ]


class AgingBucket(models.Model):
    """The aging the collections pass counted for its day: overdue accounts and amounts per back-end status
    and bucket of days overdue (1–30, 31–60, 61–90, over 90). The statistics page reads the latest day."""

    class Bucket(models.IntegerChoices):
        UP_TO_30 = 1, "1–30 days"
        UP_TO_60 = 2, "31–60 days"
        UP_TO_90 = 3, "61–90 days"
        OVER_90 = 4, "Over 90 days"

    as_of = models.DateField()
    backend_status = models.CharField(max_length=16, choices=BackendStatus.choices)
    bucket = models.PositiveSmallIntegerField(choices=Bucket.choices)
    accounts = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, default=0)

    class Meta:
        ordering = ["as_of", "backend_status", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["as_of", "backend_status", "bucket"], name="aging_bucket_once_a_day"),
        ]
