from rest_framework import serializers

from ..models import AccountStatusType, StatusReason
from ..rules import BackendStatus


class StatusTypeSerializer(serializers.ModelSerializer):
    # Shapes only; the rules (uniqueness, default, URL scheme, prospect) live in the services.
    name = serializers.CharField(max_length=10_000, allow_blank=True)
    image_url = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices)

    class Meta:
        model = AccountStatusType
        fields = ["id", "name", "backend_status", "image_url", "show_in_statistics", "is_default"]
        validators = []


class StatusReasonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=10_000, allow_blank=True)
    backend_statuses = serializers.ListField(child=serializers.ChoiceField(choices=BackendStatus.choices))

    class Meta:
        model = StatusReason
        fields = ["id", "name", "backend_statuses", "is_active"]
        validators = []
