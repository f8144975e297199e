import uuid

from django.db import models

from statuses.rules import SwitchState


class JobState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (will retry)"
    # A newer job for the same account was run instead: only the latest target matters.
    SUPERSEDED = "superseded", "Superseded"


OPEN_STATES = (JobState.PENDING, JobState.FAILED)


class ProvisioningJob(models.Model):
    """Outbox row: bring one account's switch entry to `target`. Written in the same transaction as
    the status change that made it necessary; run by a worker; retried with back-off."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="provisioning_jobs")
    target = models.CharField(max_length=16, choices=SwitchState.choices)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.PENDING)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker talks to the backend for this job (no transaction is open then): another worker
    # leaves the account alone until then, so at most one request per account is in flight. A worker
    # killed mid-call leaves it to expire; the job is then run again with the same idempotency key.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["account", "id"], condition=models.Q(state__in=OPEN_STATES), name="prov_job_open_idx"
            ),
        ]

    def __str__(self):
        return f"job {self.pk}: account {self.account_id} → {self.target} ({self.state})"


class SwitchEntry(models.Model):
    """What the switch holds for an account, as last confirmed by the backend (the ledger backend's
    switch itself). No row means absent."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="switch_entry"
    )
    state = models.CharField(max_length=16, choices=SwitchState.choices)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"account {self.account_id}: {self.state}"
