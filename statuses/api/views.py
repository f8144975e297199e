from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from engage.errors import ConflictError
from engage.permissions import AdminWritesStaffReads

from .. import services
from ..selectors import status_reason_list, status_type_list
from .serializers import StatusReasonSerializer, StatusTypeSerializer

_WRITE_ERRORS = {
    400: OpenApiResponse(description="Field errors: {field: [message]}, the same messages as the Setup pages."),
    403: OpenApiResponse(description="Only Administrators may change Setup data."),
}
_DELETE_ERRORS = {
    204: None,
    409: OpenApiResponse(description="Not deleted: {detail} says why (in use, pending change, default, history)."),
    403: OpenApiResponse(description="Only Administrators may change Setup data."),
}


class _ServiceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """CRUD whose writes go through the same services as the Setup pages. Support reads; Administrators write."""

    permission_classes = [AdminWritesStaffReads]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    create_service = update_service = delete_service = None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(**serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        obj = type(self).update_service(obj, **serializer.validated_data)
        return Response(self.get_serializer(obj).data)

    def perform_destroy(self, instance):
        _deleted, refused = type(self).delete_service([instance.pk])
        if refused:
            raise ConflictError(f"“{refused[0][0]}” was not deleted: {refused[0][1]}")


@extend_schema_view(
    create=extend_schema(responses={201: StatusTypeSerializer, **_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: StatusTypeSerializer, **_WRITE_ERRORS}),
    destroy=extend_schema(responses=_DELETE_ERRORS),
)
class StatusTypeViewSet(_ServiceViewSet):
    queryset = status_type_list()
    serializer_class = StatusTypeSerializer
    create_service = staticmethod(services.status_type_create)
    update_service = staticmethod(services.status_type_update)
    delete_service = staticmethod(services.status_types_delete)


@extend_schema_view(
    create=extend_schema(responses={201: StatusReasonSerializer, **_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: StatusReasonSerializer, **_WRITE_ERRORS}),
    destroy=extend_schema(responses=_DELETE_ERRORS),
)
class StatusReasonViewSet(_ServiceViewSet):
    queryset = status_reason_list()
    serializer_class = StatusReasonSerializer
    create_service = staticmethod(services.status_reason_create)
    update_service = staticmethod(services.status_reason_update)
    delete_service = staticmethod(services.status_reasons_delete)


def register(router):
    router.register("status-types", StatusTypeViewSet, basename="status-type")
    router.register("status-reasons", StatusReasonViewSet, basename="status-reason")
