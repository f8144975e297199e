from django.db import models


class StatisticsSnapshot(models.Model):
    """Accounts per status type on one day, recorded by beat for the statistics chart."""

    day = models.DateField()
    status_type = models.ForeignKey("statuses.AccountStatusType", on_delete=models.CASCADE, related_name="+")
    backend_status = models.CharField(max_length=16)
    count = models.BigIntegerField()

    class Meta:
        db_table = "accounts_statisticssnapshot"  # its table since it lived in accounts/: no data moved
        constraints = [models.UniqueConstraint(fields=["day", "status_type"], name="snapshot_day_type_unique")]


class ReasonDayCount(models.Model):
    """Applied status changes per effective day, reason and target back-end status (as it was when applied),
    added in the transaction that applies them (accounts.signals.status_changes_applied). The statistics
    page's changes per reason read this roll-up: at most days × reasons × statuses rows for a period,
    whatever the number of changes behind them. `reason_id` 0 is "no reason" (a plain id: reasons that
    changes name can never be deleted). A key may have several rows until folded: read sums."""

    day = models.DateField()
    reason_id = models.BigIntegerField()
    backend_status = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        # Not unique: a transaction appends its counts (no two wait on one row); a pass folds a key's rows into
        # one every minute (reporting/reason_rollup.py). Readers sum.
        indexes = [models.Index(fields=["day", "reason_id", "backend_status"], name="reason_day_count_key")]
