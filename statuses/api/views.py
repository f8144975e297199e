from drf_spectacular.utils import extend_schema, extend_schema_view

from engage.api_setup import SETUP_DELETE_ERRORS, SETUP_WRITE_ERRORS, SetupViewSet

from .. import services
from ..selectors import status_reason_list, status_type_list
from .serializers import StatusReasonSerializer, StatusTypeSerializer


@extend_schema_view(
    create=extend_schema(responses={201: StatusTypeSerializer, **SETUP_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: StatusTypeSerializer, **SETUP_WRITE_ERRORS}),
    destroy=extend_schema(responses=SETUP_DELETE_ERRORS),
)
class StatusTypeViewSet(SetupViewSet):
    queryset = status_type_list()
    serializer_class = StatusTypeSerializer
    create_service = staticmethod(services.status_type_create)
    update_service = staticmethod(services.status_type_update)
    delete_service = staticmethod(services.status_types_delete)


@extend_schema_view(
    create=extend_schema(responses={201: StatusReasonSerializer, **SETUP_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: StatusReasonSerializer, **SETUP_WRITE_ERRORS}),
    destroy=extend_schema(responses=SETUP_DELETE_ERRORS),
)
class StatusReasonViewSet(SetupViewSet):
    queryset = status_reason_list()
    serializer_class = StatusReasonSerializer
    create_service = staticmethod(services.status_reason_create)
    update_service = staticmethod(services.status_reason_update)
    delete_service = staticmethod(services.status_reasons_delete)


def register(router):
    router.register("status-types", StatusTypeViewSet, basename="status-type")
    router.register("status-reasons", StatusReasonViewSet, basename="status-reason")
