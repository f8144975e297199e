"""The API of Setup data (status types, reasons, collection steps): list, read, create, edit and delete through
the same services as the Setup pages, so the rules and their messages are the same everywhere."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from .errors import ConflictError
from .permissions import AdminWritesStaffReads

SETUP_WRITE_ERRORS = {
    400: OpenApiResponse(description="Field errors: {field: [message]}, the same messages as the Setup pages."),
    403: OpenApiResponse(description="Only Administrators may change Setup data."),
}
SETUP_DELETE_ERRORS = {
    204: None,
    409: OpenApiResponse(description="Not deleted: {detail} says why (in use, pending change, default, history)."),
    403: OpenApiResponse(description="Only Administrators may change Setup data."),
}


class SetupViewSet(
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
