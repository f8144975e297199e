from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from statuses.rules import BackendStatus

from .. import services
from ..models import Account
from ..selectors import account_search
from .serializers import AccountSerializer, AccountUpdateSerializer


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = ["bill_day"]

    def get_queryset(self):
        params = self.request.query_params
        if self.action == "list":
            return account_search(
                q=params.get("q", ""),
                backend_status=params.get("backend_status", "")
                if params.get("backend_status") in BackendStatus.values
                else "",
            )
        return Account.objects.select_related("status_type")

    def create(self, request):
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(**serializer.validated_data)
        return Response(AccountSerializer(account).data, status=201)

    @extend_schema(request=AccountUpdateSerializer, responses=AccountSerializer)
    def partial_update(self, request, pk=None):
        account = self.get_object()
        serializer = AccountUpdateSerializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(account, **serializer.validated_data)
        return Response(AccountSerializer(account).data)


def register(router):
    router.register("accounts", AccountViewSet, basename="account")
