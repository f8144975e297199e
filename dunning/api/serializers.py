"""Shapes of the collections API. The rules and their messages (ranges, placeholders, which fields an action
needs, prospect targets, reasons that do not apply) are dunning.steps', the same as on the Setup page."""

from rest_framework import serializers

from engage.input_fields import ApiModelSerializer
from engage.limits import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from statuses.models import AccountStatusType, StatusReason

from ..models import CollectionAction, CollectionStep
from ..steps import STEP_OPTIONS


class CollectionStepSerializer(ApiModelSerializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    position = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="Steps run in this order; left out on create, the step goes after the last one.",
    )
    days_overdue = serializers.IntegerField(help_text="Days since the due date of the oldest unpaid invoice.")
    min_amount = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, required=False,
        help_text="The overdue amount must be at least this (0.00 when left out).",
    )
    action = serializers.ChoiceField(choices=CollectionAction.choices)
    status_type = serializers.PrimaryKeyRelatedField(
        queryset=AccountStatusType.objects.all(), required=False, allow_null=True,
        help_text="status_change: the Account Status Type the account is moved to (not a prospect type).",
    )
    reason = serializers.PrimaryKeyRelatedField(
        queryset=StatusReason.objects.all(), required=False, allow_null=True,
        help_text="status_change: the Status Reason; it must apply to the new type's back-end status.",
    )
    option = serializers.ChoiceField(
        choices=[(o.value, o.label) for o in STEP_OPTIONS], required=False, allow_blank=True,
        help_text="status_change: when the change takes effect and how the period is billed.",
    )
    restore_to = serializers.PrimaryKeyRelatedField(
        queryset=AccountStatusType.objects.all(), required=False, allow_null=True,
        help_text="status_change: the type restored on payment; null = the type before the episode.",
    )
    subject = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                    help_text="reminder: the e-mail's subject, with {placeholders}.")
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                 help_text="reminder: the e-mail's text, with {placeholders}.")

    class Meta:
        model = CollectionStep
        fields = ["id", "name", "position", "days_overdue", "min_amount", "action", "status_type", "reason",
                  "option", "restore_to", "subject", "body"]
        validators = []
