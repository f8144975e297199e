from django.db import models

from .schedule import PassName


class PassRun(models.Model):
    """One run of a scheduled pass: what scheduler health reads (last success, failures)."""

    Name = PassName

    name = models.CharField(max_length=32, choices=Name.choices)
    as_of = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="pass_run_name_idx")]
