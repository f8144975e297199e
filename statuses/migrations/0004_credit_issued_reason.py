# The reason a restore gives when a credit a person issued (not payments alone) cleared what was overdue.

from django.db import migrations

KEY, NAME = "credit_issued", "Credit issued"  # statuses.rules.ReasonKey.CREDIT_ISSUED


def create_reason(apps, schema_editor):
    StatusReason = apps.get_model("statuses", "StatusReason")
    if StatusReason.objects.filter(key=KEY).exists():
        return
    if StatusReason.objects.filter(name__iexact=NAME).update(key=KEY):
        return
    StatusReason.objects.create(name=NAME, backend_statuses=["active"], key=KEY)


class Migration(migrations.Migration):
    dependencies = [("statuses", "0003_reason_key")]
    operations = [migrations.RunPython(create_reason, migrations.RunPython.noop)]
