"""Shapes of the billing API. The rules (whole cents, no future usage, unknown account) live in the services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engage.input_fields import ApiDateField, ApiModelSerializer, ApiSerializer
from engage.limits import (
    DESCRIPTION_MAX_CHARS,
    MAX_AMOUNT,
    MAX_ID,
    MAX_QUANTITY,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    PACKAGE_NAME_MAX_CHARS,
)

from ..models import (
    ChargeKind,
    ChargeLine,
    Invoice,
    InvoiceKind,
    Package,
    Payment,
    PaymentMethod,
    UsageRecord,
    UserPackage,
)
from ..payments import InvoiceState


def _money(*, allow_negative=False, **kwargs):
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        min_value=-MAX_AMOUNT if allow_negative else 0,
        max_value=MAX_AMOUNT,
        **kwargs,
    )


class PackageSerializer(ApiModelSerializer):
    name = serializers.CharField(max_length=PACKAGE_NAME_MAX_CHARS)
    price = _money()

    class Meta:
        model = Package
        fields = ["id", "name", "price"]
        validators = []


class UserPackageSerializer(serializers.ModelSerializer):
    class Meta:
        model = UserPackage
        fields = ["id", "package", "price", "quantity", "start_date", "next_bill_date", "status"]
        read_only_fields = fields


class UserPackageCreateSerializer(ApiSerializer):
    package = serializers.PrimaryKeyRelatedField(queryset=Package.objects.all())
    price = _money(required=False)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False, default=1)
    start_date = ApiDateField(what="Start date", required=False)


class UsageRecordSerializer(ApiModelSerializer):
    amount = _money(allow_negative=True)  # a negative amount is an adjustment
    occurred_on = ApiDateField(what="Date")
    description = serializers.CharField(max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, default="")

    class Meta:
        model = UsageRecord
        fields = ["id", "amount", "occurred_on", "description", "billed"]
        read_only_fields = ["id", "billed"]


class ChargeLineSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ChargeKind.choices, read_only=True)

    class Meta:
        model = ChargeLine
        fields = ["id", "kind", "amount", "period_start", "period_end", "description", "invoice"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=InvoiceKind.choices, read_only=True,
        help_text="credit_note when the total is below zero (money back to the customer), else invoice.",
    )
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["id", "kind", "issued_on", "total", "lines"]
        read_only_fields = fields

    @extend_schema_field(ChargeLineSerializer(many=True))
    def get_lines(self, invoice):
        lines = self.context.get("lines")
        if lines is None:
            lines = invoice.lines.order_by("pk")
        return ChargeLineSerializer(lines, many=True).data


class BillResultSerializer(serializers.Serializer):
    billed = serializers.BooleanField()
    detail = serializers.CharField()
    invoice = InvoiceSerializer(allow_null=True)


class PaymentSerializer(serializers.ModelSerializer):
    amount = _money(allow_negative=True, read_only=True)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, read_only=True)
    reverses = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The payment a reversal takes back; null on a payment received.")

    class Meta:
        model = Payment
        fields = ["id", "amount", "paid_on", "method", "reference", "reason", "reverses"]
        read_only_fields = fields


class PaymentCreateSerializer(ApiSerializer):
    """A payment received (amount > 0); or, with `reverses` and a `reason`, the reversal of a mistaken one
    (amount and date are then the reversed payment's amount, negative, and today)."""

    amount = _money(required=False)
    paid_on = ApiDateField(what="Date", required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices, required=False)
    reference = serializers.CharField(max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, default="")
    reverses = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=DESCRIPTION_MAX_CHARS, required=False, allow_blank=True, default="")

    def validate(self, data):
        if "reverses" in data:
            return data
        missing = {name: ["This field is required."] for name in ("amount", "paid_on", "method") if name not in data}
        if missing:
            raise serializers.ValidationError(missing)
        return data


class InvoiceStateSerializer(serializers.Serializer):
    """An invoice or credit note with its due date and what of it is paid (for a credit note: allocated)."""

    id = serializers.IntegerField(source="invoice.pk")
    kind = serializers.ChoiceField(choices=InvoiceKind.choices, source="invoice.kind")
    issued_on = serializers.DateField(source="invoice.issued_on")
    due_on = serializers.DateField()
    total = _money(allow_negative=True, source="invoice.total")
    paid = _money(help_text="Paid of an invoice, or allocated of a credit note (oldest invoice first).")
    state = serializers.ChoiceField(choices=InvoiceState.choices)
