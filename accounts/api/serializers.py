from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.payments import account_standing
from engage.clock import today
from engage.input_fields import ApiDateField, ApiModelSerializer, ApiSerializer
from engage.limits import ACCOUNT_NAME_MAX_CHARS, NOTE_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import ChangeOption, StatusChangeState

from ..models import Account, StatusChange


class AccountSerializer(ApiModelSerializer):
    backend_status = serializers.CharField(source="status_type.backend_status", read_only=True)
    status_type = serializers.PrimaryKeyRelatedField(queryset=AccountStatusType.objects.all(), required=False)
    bill_day = serializers.IntegerField(min_value=1, max_value=28)
    name = serializers.CharField(max_length=ACCOUNT_NAME_MAX_CHARS, error_messages={"blank": "Name is required."})

    class Meta:
        model = Account
        fields = ["id", "number", "name", "email", "bill_day", "status_type", "backend_status"]
        read_only_fields = ["id", "number", "backend_status"]


class AccountDetailSerializer(AccountSerializer):
    """One account (GET accounts/{id}/): what it owes, and its collections standing (SPEC §11), read-only."""

    balance = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True,
                                       help_text="Invoices and credit notes less payments; below zero: in credit.")
    overdue_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True,
                                              help_text="Unpaid on invoices past their due date.")
    overdue_days = serializers.IntegerField(read_only=True,
                                            help_text="Days since the due date of the oldest invoice unpaid past due.")
    collections_exempt_until = serializers.DateField(read_only=True, allow_null=True)

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "balance", "overdue_amount", "overdue_days",
                  "collections_exempt_until"]

    def to_representation(self, instance):
        standing = account_standing(instance.pk, today())
        instance.balance, instance.overdue_amount = standing.balance, standing.overdue_amount
        instance.overdue_days = standing.overdue_days
        return super().to_representation(instance)


class AccountUpdateSerializer(AccountSerializer):
    """PATCH never changes the status: that is status-changes/."""

    status_type = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(AccountSerializer.Meta):
        read_only_fields = ["id", "number", "backend_status", "status_type"]


class TransactionSerializer(serializers.Serializer):
    kind = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    period_start = serializers.DateField()
    period_end = serializers.DateField()


class BilledBeforeSerializer(serializers.Serializer):
    package = serializers.IntegerField(source="user_package_id", allow_null=True,
                                       help_text="The user package (null for a usage record's line).")
    description = serializers.CharField()
    periods = serializers.IntegerField(help_text="How many bill periods the billing pass bills of it first.")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Their sum.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    lines = TransactionSerializer(many=True, required=False,
                                 help_text="Each period's line: only when the request asked for `?detail=lines`.")


class StatusChangeRequestSerializer(ApiSerializer):
    status_type = serializers.PrimaryKeyRelatedField(queryset=AccountStatusType.objects.all())
    option = serializers.ChoiceField(choices=ChangeOption.choices)
    effective_date = ApiDateField(required=False, allow_null=True)
    reason = serializers.PrimaryKeyRelatedField(queryset=StatusReason.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_CHARS)
    version = serializers.IntegerField(
        required=False, help_text="The account version you read; a stale one is refused with 409."
    )


class StatusChangeOutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=StatusChangeState.choices)
    effective_date = serializers.DateField()
    transactions = TransactionSerializer(many=True)
    billed_before = BilledBeforeSerializer(
        many=True,
        help_text="What the billing pass bills before the change's date (the periods it counts in, so that the "
        "preview and the applied change agree), summed per package; for a change now, what a catch-up still "
        "owed. Its size grows with the packages, not with the periods to the date.",
    )


class StatusChangeSerializer(serializers.ModelSerializer):
    transactions = serializers.SerializerMethodField()

    class Meta:
        model = StatusChange
        fields = [
            "id",
            "account",
            "from_type",
            "to_type",
            "option",
            "effective_date",
            "reason",
            "note",
            "state",
            "failure_reason",
            "source",
            "created_by",
            "created_at",
            "executed_at",
            "executed_by",
            "transactions",
        ]

    @extend_schema_field(TransactionSerializer(many=True))
    def get_transactions(self, obj):
        return TransactionSerializer(obj.charge_lines.all(), many=True).data
