# A reason the product gives itself is found by a key, not by its name, which an operator may change.

from django.db import migrations, models

KEYS = {"payment_received": "Payment received"}  # statuses.rules.ReasonKey: key → the default reason's name


def set_keys(apps, schema_editor):
    StatusReason = apps.get_model("statuses", "StatusReason")
    for key, name in KEYS.items():
        if not StatusReason.objects.filter(key=key).exists():
            StatusReason.objects.filter(name__iexact=name).update(key=key)


class Migration(migrations.Migration):

    dependencies = [
        ('statuses', '0002_defaults'),
    ]

    operations = [
        migrations.AddField(
            model_name='statusreason',
            name='key',
            field=models.CharField(blank=True, default='', editable=False, max_length=32),
        ),
        migrations.AddConstraint(
            model_name='statusreason',
            constraint=models.UniqueConstraint(condition=models.Q(('key', ''), _negated=True), fields=('key',), name='status_reason_key_unique'),
        ),
        migrations.RunPython(set_keys, migrations.RunPython.noop),
    ]
