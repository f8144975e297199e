"""GET /api/v1/statistics/: the sidebar's Account Statistics rows (SPEC §9), and with ?start=&end= also
the applied status changes per reason in that period."""

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dunning.aging import latest_aging
from engage.clock import today
from engage.input_fields import ApiDateField, date_parameter
from statuses.rules import BackendStatus

from ..selectors import account_statistics
from ..statistics import reason_counts, resolve_period


class StatisticsRowSerializer(serializers.Serializer):
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class ReasonCountSerializer(serializers.Serializer):
    reason_id = serializers.IntegerField(allow_null=True, help_text="null: changes made without a reason")
    reason = serializers.CharField(allow_null=True)
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices, help_text="the target's back-end status")
    count = serializers.IntegerField()


class StatisticsPeriodSerializer(serializers.Serializer):
    statistics = StatisticsRowSerializer(many=True)
    start = serializers.DateField()
    end = serializers.DateField()
    status_changes_per_reason = ReasonCountSerializer(many=True)


class StatisticsQuerySerializer(serializers.Serializer):
    start = ApiDateField(what="The start of the period", required=False)
    end = ApiDateField(what="The end of the period", required=False)

    def validate(self, attrs):
        start, end = resolve_period(attrs.get("start"), attrs.get("end"), today=today())
        return {"start": start, "end": end}


class StatisticsView(APIView):
    """Account Statistics: per back-end status in the order Active, Cancelled, Prospect, Suspended, the
    accounts whose type is shown in statistics (from the counters; the cost does not grow with accounts)."""

    @extend_schema(
        parameters=[
            date_parameter("start", "With start and/or end: also status changes per reason (applied, dated in the "
                           "period); the missing bound defaults to a 30-day period ending today."),
            date_parameter("end", "Last day of the period (inclusive)."),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="StatisticsResponse",
                serializers=[StatisticsRowSerializer(many=True), StatisticsPeriodSerializer],
                resource_type_field_name=None,
                many=False,
            ),
            400: OpenApiResponse(
                description="Malformed date, a date outside 1990-01-01 to 2199-12-31, or end before start: "
                "{field: [message]}."
            ),
        },
    )
    def get(self, request):
        rows = account_statistics()
        if "start" not in request.query_params and "end" not in request.query_params:
            return Response(StatisticsRowSerializer(rows, many=True).data)
        query = StatisticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        body = {
            "statistics": rows,
            "start": start,
            "end": end,
            "status_changes_per_reason": reason_counts(start=start, end=end)["flat"],
        }
        return Response(StatisticsPeriodSerializer(body).data)


class AgingCellSerializer(serializers.Serializer):
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices)
    accounts = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class AgingRowSerializer(serializers.Serializer):
    bucket = serializers.CharField(help_text="1-30, 31-60, 61-90 or over-90 (days overdue).")
    accounts = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    per_backend_status = AgingCellSerializer(many=True)


class AgingSerializer(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True, help_text="The day of the collections pass that counted it.")
    accounts = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    buckets = AgingRowSerializer(many=True)


AGING_KEYS = {1: "1-30", 2: "31-60", 3: "61-90", 4: "over-90"}


class AgingView(APIView):
    """Aging (SPEC §11): overdue accounts and amounts by days overdue and back-end status, as the latest
    collections pass counted them (constant cost: a kept snapshot, not a scan of the invoices)."""

    @extend_schema(responses=AgingSerializer)
    def get(self, request):
        aging = latest_aging()
        return Response(AgingSerializer({
            "as_of": aging.as_of, "accounts": aging.accounts, "amount": aging.amount,
            "buckets": [{"bucket": AGING_KEYS[row.bucket], "accounts": row.accounts, "amount": row.amount,
                         "per_backend_status": [{"backend_status": status, "accounts": n, "amount": amount}
                                                for status, (n, amount) in row.cells.items()]}
                        for row in aging.rows],
        }).data)
