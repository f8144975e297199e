import django.db.models.functions.text
from django.db import migrations, models

# Name search is `UPPER(name::text) LIKE UPPER('%…%')` (icontains); on PostgreSQL a trigram index
# serves it at a million accounts. SQLite has no such index and needs none at its sizes.
TRIGRAM_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    'CREATE INDEX IF NOT EXISTS account_name_trgm_idx ON accounts_account USING gin (UPPER("name"::text) gin_trgm_ops)',
]


def add_name_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in TRIGRAM_SQL:
            schema_editor.execute(sql)


def drop_name_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS account_name_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("statuses", "0002_defaults"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="account", name="account_email_idx"),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(django.db.models.functions.text.Lower("email"), name="account_email_lower_idx"),
        ),
        migrations.RunPython(add_name_trigram_index, drop_name_trigram_index),
    ]
