# StatisticsSnapshot now belongs to reporting/ (reporting 0001 takes it over); the table stays as it is.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_email_lower_index_and_name_trigram"),
        ("reporting", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StatisticsSnapshot")],
            database_operations=[],
        ),
    ]
