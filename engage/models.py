from django.db import models

from .schedule import PassName


class PassRun(models.Model):
    """One run of a scheduled pass: what scheduler health reads (last success, failures, and a run that
    stopped without finishing: `finished_at` empty and no heartbeat for a while)."""

    Name = PassName

    name = models.CharField(max_length=32, choices=Name.choices)
    as_of = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Saved with `processed` after each chunk: how far a run got, and whether it is still alive.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)  # what the run found wrong and set right (the switch audit's drift)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="pass_run_name_idx")]


class OutboxMessage(models.Model):
    """Background work a request caused (a status e-mail, …), written in the request's transaction
    (SPEC §6). Handed to Celery after commit; the relay on beat's schedule hands over whatever was not
    (or was lost on the way); the consumer does it once (`done_at`, under a row lock)."""

    kind = models.CharField(max_length=64)  # a handler registered with engage.outbox.handler
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    handed_at = models.DateTimeField(null=True, blank=True)  # last given to the broker
    handovers = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(done_at__isnull=True), name="outbox_open_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.payload} ({'done' if self.done_at else 'open'})"
