"""Collections API for the support desk: the dry run of a day's pass, and an account's exemption. Thin: the
rules are in dry_run.py and exemptions.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from engage.account_model import account_id_or_404
from engage.clock import today
from engage.input_fields import ApiDateField, ApiSerializer, date_parameter
from engage.limits import EXEMPTION_NOTE_MAX_CHARS, MONEY_DECIMAL_PLACES, TOTAL_MAX_DIGITS
from engage.permissions import IsStaffRole

from ..dry_run import LIST_MAX, collections_dry_run
from ..exemptions import exemption_set


class DryRunQuerySerializer(serializers.Serializer):
    date = ApiDateField(what="The day of the pass", required=False,
                        help_text="The day of the pass (YYYY-MM-DD); today when absent.")


class PlannedSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id")
    number = serializers.CharField()
    step = serializers.CharField(source="step.name", allow_null=True, default=None)
    action = serializers.ChoiceField(choices=["reminder", "status_change", "restore", "end_episode"])
    does = serializers.CharField(source="what")
    overdue_amount = serializers.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    overdue_days = serializers.IntegerField()
    day = serializers.DateField(help_text="The day the pass does it (a replayed day, or the day asked).")


class StepCountSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    name = serializers.CharField()
    action = serializers.CharField()
    accounts = serializers.IntegerField()


class DryRunTotalsSerializer(serializers.Serializer):
    overdue_accounts = serializers.IntegerField()
    overdue_amount = serializers.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    exempt = serializers.IntegerField()
    accounts = serializers.IntegerField(help_text="Accounts the pass acts on (every one counted).")
    per_step = StepCountSerializer(many=True)
    restore = serializers.IntegerField()
    end_episode = serializers.IntegerField()


class DryRunSerializer(serializers.Serializer):
    date = serializers.DateField()
    days = serializers.ListField(child=serializers.DateField(),
                                 help_text="Every day the pass runs collections for, in order: the days it would "
                                           "replay after an outage, then the day asked.")
    busy = serializers.CharField(help_text="Not empty when another run was catching up: nothing could be tried.")
    totals = DryRunTotalsSerializer()
    results = PlannedSerializer(many=True, help_text=f"The first {LIST_MAX} accounts, by id.")
    truncated = serializers.BooleanField()


class DryRunView(APIView):
    """What the collections pass of a day would do, changing nothing: per account the step and its action
    (or the restore of a paid account), with totals."""

    permission_classes = [IsStaffRole]

    @extend_schema(parameters=[date_parameter("date", "The day of the pass; today when absent.")],
                   responses=DryRunSerializer)
    def get(self, request):
        query = DryRunQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        plan = collections_dry_run(query.validated_data.get("date") or today())
        return Response(DryRunSerializer({
            "date": plan.day, "days": plan.days, "busy": plan.busy,
            "totals": {
                "overdue_accounts": plan.overdue_accounts, "overdue_amount": plan.overdue_amount,
                "exempt": plan.exempt, "accounts": plan.total,
                "per_step": [{"step": s.pk, "name": s.name, "action": s.action, "accounts": n}
                             for s, n in plan.step_rows],
                "restore": plan.per_action["restore"], "end_episode": plan.per_action["end_episode"],
            },
            "results": plan.accounts,
            "truncated": plan.truncated,
        }).data)


class ExemptionSerializer(ApiSerializer):
    # Required: an empty body ({}) changes nothing; ending an exemption is said with until null.
    until = ApiDateField(what="Exempt until", allow_null=True, required=True,
                         help_text="The last day of the exemption (inclusive); null ends the exemption.",
                         error_messages={"required": "Give until: the last day of the exemption (YYYY-MM-DD), or "
                                                     "null to end the exemption."})
    note = serializers.CharField(max_length=EXEMPTION_NOTE_MAX_CHARS, allow_blank=True, required=False,
                                 help_text="Why the account is exempt (required with a date).")


class ExemptionView(APIView):
    """An account's exemption from collections: GET it, POST `{until, note}` to set it, `{until: null}` to end it
    (a body without `until` is a 400 and changes nothing)."""

    permission_classes = [IsStaffRole]

    @extend_schema(responses=ExemptionSerializer)
    def get(self, request, account_id):
        account = Account.objects.get(pk=account_id_or_404(account_id))
        return Response({"until": account.collections_exempt_until, "note": account.collections_exempt_note})

    @extend_schema(request=ExemptionSerializer, responses=ExemptionSerializer)
    def post(self, request, account_id):
        account_id = account_id_or_404(account_id)
        serializer = ExemptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = exemption_set(account_id=account_id, today=today(),
                                until=serializer.validated_data["until"],
                                note=serializer.validated_data.get("note", ""))
        return Response(ExemptionSerializer({"until": account.collections_exempt_until,
                                             "note": account.collections_exempt_note}).data)
