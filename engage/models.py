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
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="pass_run_name_idx")]
