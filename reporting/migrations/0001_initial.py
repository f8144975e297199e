# The snapshot model moves from accounts/ to reporting/ in Django's state only: the table stays.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_email_lower_index_and_name_trigram"),
        ("statuses", "0002_defaults"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StatisticsSnapshot",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("backend_status", models.CharField(max_length=16)),
                        ("count", models.BigIntegerField()),
                        (
                            "status_type",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="statuses.accountstatustype",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_statisticssnapshot",
                        "constraints": [
                            models.UniqueConstraint(fields=("day", "status_type"), name="snapshot_day_type_unique")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
