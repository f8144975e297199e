"""engage/copy_rows.py: `build` makes the instance keyword construction makes (defaults included, called
per instance), and `insert_objects` writes what a save writes (COPY on PostgreSQL, bulk_create elsewhere),
each instance getting its id."""

from datetime import date
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from billing.models import ChargeLine, Invoice
from engage.copy_rows import build, insert_objects
from provisioning.models import ProvisioningJob
from tests.accounts.factories import make_account

pytestmark = pytest.mark.django_db


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_build_equals_keyword_construction_and_calls_defaults_per_instance():
    values = {"account_id": 7, "kind": "usage", "amount": Decimal("1.50"), "period_start": date(2031, 1, 2),
              "period_end": date(2031, 1, 2), "description": "Calls"}
    assert _fields(build(ChargeLine, values)) == _fields(ChargeLine(**values))
    first, second = (build(ProvisioningJob, {"account_id": 1, "target": "enabled"}) for _ in range(2))
    assert (first.state, first.attempts, first.pk) == ("pending", 0, None)
    assert first.idempotency_key != second.idempotency_key  # uuid4 called for each
    assert first._state.adding


def test_inserted_objects_get_ids_and_read_back_as_saved():
    account = make_account(name="Copy rows", email="copy-rows@example.com")
    invoices = insert_objects(
        Invoice, [build(Invoice, {"account_id": account.pk, "issued_on": date(2031, 1, 1), "total": Decimal(d)})
                  for d in range(1, 301)])
    assert all(invoice.pk for invoice in invoices) and len({invoice.pk for invoice in invoices}) == 300
    assert Invoice.objects.get(pk=invoices[41].pk).total == Decimal("42.00")
    line = build(ChargeLine, {"account_id": account.pk, "kind": "usage", "amount": Decimal("-3.25"),
                              "period_start": date(2031, 2, 1), "period_end": date(2031, 2, 1),
                              "invoice_id": invoices[0].pk})
    line.save()
    saved = model_to_dict(ChargeLine.objects.get(pk=line.pk), fields=["account", "kind", "amount", "invoice"])
    assert saved == {"account": account.pk, "kind": "usage", "amount": Decimal("-3.25"), "invoice": invoices[0].pk}
    assert ChargeLine.objects.get(pk=line.pk).created_at is not None
