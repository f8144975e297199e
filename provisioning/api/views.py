from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.account_model import account_exists
from engage.permissions import IsStaffRole

from ..selectors import provisioning_summary
from .serializers import ProvisioningStateSerializer


class AccountProvisioningView(APIView):
    """The account's provisioning state: switch state, open jobs and the last error."""

    permission_classes = [IsStaffRole]
    serializer_class = ProvisioningStateSerializer

    @extend_schema(responses={200: ProvisioningStateSerializer, 404: OpenApiResponse(description="No such account.")})
    def get(self, request, account_id: int):
        if not account_exists(account_id):
            raise Http404("No such account.")
        return Response(ProvisioningStateSerializer(provisioning_summary(account_id)).data)
