from django.db import transaction
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from engage.errors import ConflictError
from engage.permissions import AdminWritesStaffReads

from .. import services
from ..models import AccountStatusType, StatusReason
from .serializers import StatusReasonSerializer, StatusTypeSerializer


class _ServiceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """CRUD whose writes go through the same services as the Setup pages."""

    permission_classes = [AdminWritesStaffReads]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    create_service = update_service = delete_service = None

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(**serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=201)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = type(self).update_service(obj, **serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            _deleted, refused = type(self).delete_service([instance.pk])
        if refused:
            raise ConflictError(f"“{refused[0][0]}” was not deleted: {refused[0][1]}")


class StatusTypeViewSet(_ServiceViewSet):
    queryset = AccountStatusType.objects.all()
    serializer_class = StatusTypeSerializer
    create_service = staticmethod(services.status_type_create)
    update_service = staticmethod(services.status_type_update)
    delete_service = staticmethod(services.status_types_delete)


class StatusReasonViewSet(_ServiceViewSet):
    queryset = StatusReason.objects.all()
    serializer_class = StatusReasonSerializer
    create_service = staticmethod(services.status_reason_create)
    update_service = staticmethod(services.status_reason_update)
    delete_service = staticmethod(services.status_reasons_delete)


def register(router):
    router.register("status-types", StatusTypeViewSet, basename="status-type")
    router.register("status-reasons", StatusReasonViewSet, basename="status-reason")
