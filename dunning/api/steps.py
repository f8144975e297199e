"""/api/v1/collection-steps/: the same writes (dunning.steps) and messages as the Setup page."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from engage.api_setup import SETUP_DELETE_ERRORS, SETUP_WRITE_ERRORS, SetupViewSet

from ..steps import step_create, step_update, steps_delete, steps_in_order
from .serializers import CollectionStepSerializer


@extend_schema_view(
    create=extend_schema(responses={201: CollectionStepSerializer, **SETUP_WRITE_ERRORS}),
    partial_update=extend_schema(responses={200: CollectionStepSerializer, **SETUP_WRITE_ERRORS}),
    destroy=extend_schema(responses=SETUP_DELETE_ERRORS),
)
class CollectionStepViewSet(SetupViewSet):
    """Support reads; Administrators add, edit and delete (a step an open episode ran is kept: 409)."""

    queryset = steps_in_order()
    serializer_class = CollectionStepSerializer
    create_service = staticmethod(step_create)
    update_service = staticmethod(step_update)
    delete_service = staticmethod(steps_delete)


def register(router):
    router.register("collection-steps", CollectionStepViewSet, basename="collection-step")
