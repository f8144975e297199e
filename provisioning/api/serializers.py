from rest_framework import serializers

from statuses.rules import SwitchState


class ProvisioningStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=SwitchState.choices, help_text="What the switch holds for the account.")
    pending_jobs = serializers.IntegerField(help_text="Provisioning jobs not yet done (pending or failed).")
    last_error = serializers.CharField(allow_blank=True, help_text="Error of the newest failed job; empty if none.")
