from rest_framework import serializers

from statuses.models import AccountStatusType

from ..models import Account


class AccountSerializer(serializers.ModelSerializer):
    backend_status = serializers.CharField(source="status_type.backend_status", read_only=True)
    status_type = serializers.PrimaryKeyRelatedField(queryset=AccountStatusType.objects.all(), required=False)
    bill_day = serializers.IntegerField(min_value=1, max_value=28)
    name = serializers.CharField(max_length=200)

    class Meta:
        model = Account
        fields = ["id", "number", "name", "email", "bill_day", "status_type", "backend_status"]
        read_only_fields = ["id", "number", "backend_status"]


class AccountUpdateSerializer(AccountSerializer):
    """PATCH never changes the status: that is status-changes/."""

    class Meta(AccountSerializer.Meta):
        read_only_fields = ["id", "number", "backend_status", "status_type"]
