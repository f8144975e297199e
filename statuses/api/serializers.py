from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from engage.input_fields import ApiModelSerializer

from ..models import AccountStatusType, StatusReason
from ..rules import BackendStatus


class StatusTypeSerializer(ApiModelSerializer):
    # Shapes only: the rules and their messages (length, uniqueness, URL scheme, default, prospect) are the
    # services', the same as on the Setup pages.
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    image_url = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices)
    # Declared, so that DRF adds no unique validator of its own from the one-default constraint.
    show_in_statistics = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    replace_default = serializers.BooleanField(
        write_only=True, required=False,
        help_text="With is_default=true on a type that is not the default: make it the default instead of "
                  "the current one (without it, a second default is refused).",
    )

    class Meta:
        model = AccountStatusType
        fields = ["id", "name", "backend_status", "image_url", "show_in_statistics", "is_default", "replace_default"]
        validators = []


@extend_schema_field(
    # The same enum component as `backend_status`, rather than a second name for the same choices.
    {"type": "array", "items": {"$ref": "#/components/schemas/BackendStatusEnum"}, "minItems": 1}
)
class BackendStatusesField(serializers.ListField):
    child = serializers.ChoiceField(choices=BackendStatus.choices)


class StatusReasonSerializer(ApiModelSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    backend_statuses = BackendStatusesField(allow_empty=True)

    class Meta:
        model = StatusReason
        fields = ["id", "name", "backend_statuses", "is_active"]
        validators = []
