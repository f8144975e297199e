from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from engage.api_paging import BoundedCursorPagination
from engage.input_fields import StrictFilterBackend

from .. import services
from ..filters import AccountFilter
from ..models import Account
from .serializers import AccountDetailSerializer, AccountSerializer, AccountUpdateSerializer


class NewestFirst(BoundedCursorPagination):
    """Cursor paging on id: no COUNT(*) and no OFFSET, so it stays fast at a million accounts."""

    ordering = "-id"
    page_size = 50


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    pagination_class = NewestFirst
    http_method_names = ["get", "post", "patch", "head", "options"]

    filter_backends = [StrictFilterBackend]
    filterset_class = AccountFilter
    queryset = Account.objects.select_related("status_type")

    def get_serializer_class(self):
        return AccountDetailSerializer if self.action == "retrieve" else AccountSerializer

    def create(self, request, *args, **kwargs):
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(**serializer.validated_data)
        return Response(AccountSerializer(account).data, status=201)

    @extend_schema(request=AccountUpdateSerializer, responses=AccountSerializer)
    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        serializer = AccountUpdateSerializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(account, **serializer.validated_data)
        return Response(AccountSerializer(account).data)


def register(router):
    router.register("accounts", AccountViewSet, basename="account")
