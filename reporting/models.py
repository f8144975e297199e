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
