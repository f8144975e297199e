"""API of the status-change engine: the same service as the pages."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..engine import account_change_status, preview_status_change, status_change_remove
from ..models import Account, StatusChange
from .serializers import StatusChangeOutcomeSerializer, StatusChangeRequestSerializer, StatusChangeSerializer


def _lines(lines):
    return [
        {"kind": line.kind, "amount": line.amount, "period_start": line.period_start, "period_end": line.period_end}
        for line in lines
    ]


def _outcome(outcome):
    return {
        "id": outcome.change.pk if outcome.change else None,
        "state": outcome.state,
        "effective_date": outcome.effective_date,
        "transactions": _lines(outcome.transactions),
        "billed_before": outcome.billed_before,
    }


def _request_args(request, account_id):
    serializer = StatusChangeRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return {
        "account_id": account_id,
        "to_type": data["status_type"],
        "option": data["option"],
        "effective_date": data.get("effective_date"),
        "reason": data.get("reason"),
        "note": data.get("note", ""),
    }, data.get("version")


class AccountStatusChangesView(generics.ListAPIView):
    """History and pending changes of an account; POST changes its status (now or scheduled)."""

    serializer_class = StatusChangeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StatusChange.objects.none()
        account = get_object_or_404(Account, pk=self.kwargs["account_id"])
        return (
            StatusChange.objects.filter(account=account)
            .select_related("from_type", "to_type", "reason")
            .prefetch_related("charge_lines")
            .order_by("-effective_date", "-id")
        )

    @extend_schema(request=StatusChangeRequestSerializer, responses={201: StatusChangeOutcomeSerializer})
    def post(self, request, account_id):
        try:
            args, version = _request_args(request, account_id)
        except ValidationError:
            get_object_or_404(Account.objects.only("pk"), pk=account_id)  # no such account: 404 before the body
            raise
        # A valid request reads the account once, locked by the engine (NotFoundError: 404 when there is none).
        outcome = account_change_status(**args, actor=request.user, expected_version=version)
        return Response(StatusChangeOutcomeSerializer(_outcome(outcome)).data, status=201)


DETAIL = OpenApiParameter(
    "detail", str, enum=["lines"], required=False,
    description="`lines`: also each period the billing pass bills before the change (`billed_before[].lines`); "
                "without it the periods are summed per package, so the answer's size does not grow with the date.",
)


class StatusChangePreviewView(APIView):
    @extend_schema(request=StatusChangeRequestSerializer, parameters=[DETAIL],
                   responses={200: StatusChangeOutcomeSerializer})
    def post(self, request, account_id):
        get_object_or_404(Account, pk=account_id)
        detail = request.query_params.get("detail")
        if detail not in (None, "lines"):
            # A string, as every {"detail": …} answer is (the parameter's name is the error's key).
            raise ValidationError({"detail": "Give detail=lines, or leave it out."})
        args, _version = _request_args(request, account_id)
        outcome = preview_status_change(**args, lines=detail == "lines")
        return Response(StatusChangeOutcomeSerializer(_outcome(outcome)).data)


class StatusChangeDetailView(generics.RetrieveDestroyAPIView):
    """DELETE removes a pending change; 409 once it was executed."""

    serializer_class = StatusChangeSerializer
    queryset = StatusChange.objects.select_related("from_type", "to_type", "reason").prefetch_related("charge_lines")

    def perform_destroy(self, instance):
        status_change_remove(change_id=instance.pk, actor=self.request.user)
