"""API of the bulk status change (SPEC §5): the same service as the pages (services.py)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.input_fields import ApiDateField, ApiSerializer
from engage.limits import NOTE_MAX_CHARS, NUMBER_MAX_CHARS, SEARCH_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus, ChangeOption

from ..models import BulkStatusItem, BulkStatusJob
from .services import (
    MAX_CSV_NUMBERS,
    MAX_TICKED,
    bulk_change_cancel,
    bulk_change_start,
    bulk_change_submit,
    skip_label,
    skip_rows,
)


class BulkFilterSerializer(ApiSerializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=SEARCH_MAX_CHARS)
    status_type = serializers.IntegerField(required=False, min_value=1)
    backend_status = serializers.ChoiceField(choices=BackendStatus.choices, required=False, allow_blank=True)


class BulkRequestSerializer(ApiSerializer):
    account_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                        max_length=MAX_TICKED, help_text="Chosen accounts (at most 1,000).")
    numbers = serializers.ListField(child=serializers.CharField(max_length=NUMBER_MAX_CHARS), required=False,
                                    max_length=MAX_CSV_NUMBERS,
                                    help_text="Account numbers (unknown ones are skipped), checked as an uploaded "
                                              "file's are: no control or invisible characters.")
    filter = BulkFilterSerializer(required=False, help_text="Every account the accounts list's filter matches.")
    status_type = serializers.PrimaryKeyRelatedField(queryset=AccountStatusType.objects.all())
    option = serializers.ChoiceField(choices=ChangeOption.choices)
    effective_date = ApiDateField(required=False, allow_null=True)
    reason = serializers.PrimaryKeyRelatedField(queryset=StatusReason.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_CHARS)
    dry_run = serializers.BooleanField(default=True, help_text="true: check only (then POST …/save/); false: run.")

    def validate(self, data):
        if sum(key in data for key in ("account_ids", "numbers", "filter")) != 1:
            raise serializers.ValidationError("Give exactly one of account_ids, numbers or filter.")
        return data


class BulkJobSerializer(serializers.ModelSerializer):
    status_type = serializers.PrimaryKeyRelatedField(source="to_type", read_only=True)

    class Meta:
        model = BulkStatusJob
        fields = ["id", "state", "selection", "selection_text", "status_type", "option", "effective_date", "reason",
                  "note", "requested_on", "collected", "total", "checked", "processed", "dry_run", "result", "error",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class BulkSkippedSerializer(serializers.ModelSerializer):
    reason = serializers.SerializerMethodField()

    class Meta:
        model = BulkStatusItem
        fields = ["position", "account_id", "number", "skip_code", "reason", "message"]

    def get_reason(self, item) -> str:
        return skip_label(item.skip_code)


class BulkJobListView(generics.ListAPIView):
    """Bulk status changes, newest first; POST submits one (a dry run unless dry_run is false)."""

    serializer_class = BulkJobSerializer
    queryset = BulkStatusJob.objects.defer("selection_params").order_by("-id")
    # JSON only: a form body of a million repeated fields is refused as 415, before Django counts them.
    parser_classes = [JSONParser]

    @extend_schema(request=BulkRequestSerializer, responses={201: BulkJobSerializer, 200: BulkJobSerializer})
    def post(self, request):
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        selection = {}
        if "account_ids" in data:
            selection["account_ids"] = data["account_ids"]
        elif "numbers" in data:
            selection["csv_numbers"] = data["numbers"]  # checked as a file's are (services.check_numbers)
        else:
            selection["filter_params"] = {k: str(v) for k, v in data["filter"].items() if v not in ("", None)}
        job, created = bulk_change_submit(
            actor=request.user, to_type=data["status_type"], option=data["option"],
            effective_date=data.get("effective_date"), reason=data.get("reason"), note=data.get("note", ""),
            dry_run=data["dry_run"], **selection,
        )
        return Response(BulkJobSerializer(job).data, status=201 if created else 200)


class BulkJobDetailView(generics.RetrieveAPIView):
    serializer_class = BulkJobSerializer
    queryset = BulkStatusJob.objects.defer("selection_params")


class BulkJobSaveView(APIView):
    """Run a checked bulk change; 409 in any other state."""

    @extend_schema(request=None, responses={200: BulkJobSerializer})
    def post(self, request, pk):
        get_object_or_404(BulkStatusJob, pk=pk)
        return Response(BulkJobSerializer(bulk_change_start(pk, actor=request.user)).data)


class BulkJobCancelView(APIView):
    """Stop a bulk change after its current chunk; 409 once it has ended."""

    @extend_schema(request=None, responses={200: BulkJobSerializer})
    def post(self, request, pk):
        get_object_or_404(BulkStatusJob, pk=pk)
        return Response(BulkJobSerializer(bulk_change_cancel(pk, actor=request.user)).data)


class BulkSkippedView(generics.ListAPIView):
    """The accounts a bulk change skipped, and why, in selection order."""

    serializer_class = BulkSkippedSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BulkStatusItem.objects.none()
        return skip_rows(get_object_or_404(BulkStatusJob, pk=self.kwargs["pk"]))
