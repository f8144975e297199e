from django.db import migrations

TYPES = [
    ("Active", "active", True),
    ("Cancelled", "cancelled", False),
    ("Suspended", "suspended", False),
    ("Prospect", "prospect", False),
]
REASONS = [
    ("Non-payment", ["cancelled", "suspended"]),
    ("Customer request", ["active", "cancelled", "suspended"]),
    ("Fraud", ["cancelled", "suspended"]),
    ("Moved out of service area", ["cancelled"]),
    ("Payment received", ["active"]),
    ("Technical issue", ["suspended"]),
]


def create_defaults(apps, schema_editor):
    AccountStatusType = apps.get_model("statuses", "AccountStatusType")
    StatusReason = apps.get_model("statuses", "StatusReason")
    for name, backend, default in TYPES:
        AccountStatusType.objects.get_or_create(
            name=name, defaults={"backend_status": backend, "is_default": default, "show_in_statistics": True}
        )
    for name, statuses in REASONS:
        StatusReason.objects.get_or_create(name=name, defaults={"backend_statuses": statuses})


class Migration(migrations.Migration):
    dependencies = [("statuses", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
