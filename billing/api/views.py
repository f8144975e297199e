"""Billing API: thin views over billing.services and billing.selectors."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from engage.account_model import account_id_or_404
from engage.clock import today
from engage.permissions import AdminWritesStaffReads

from .. import payments, selectors, services
from ..models import ChargeLine, Payment, UsageRecord, UserPackage
from .serializers import (
    BillResultSerializer,
    ChargeLineSerializer,
    InvoiceSerializer,
    InvoiceStateSerializer,
    PackageSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    UsageRecordSerializer,
    UserPackageCreateSerializer,
    UserPackageSerializer,
)


class PackageListCreate(generics.ListCreateAPIView):
    """The package catalogue (monthly prices). Administrators add packages; Support reads."""

    serializer_class = PackageSerializer
    permission_classes = [AdminWritesStaffReads]

    def get_queryset(self):
        return selectors.package_list()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        package = services.package_create(**serializer.validated_data)
        return Response(PackageSerializer(package).data, status=201)


class _AccountScoped:
    def account_id(self) -> int:
        return account_id_or_404(self.kwargs["account_id"])

    def create_with(self, request, request_serializer, service, response_serializer):
        """Validate the shape, let the service apply the rules for this account today, answer 201."""
        account_id = self.account_id()
        serializer = request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = service(account_id=account_id, today=today(), **serializer.validated_data)
        return Response(response_serializer(obj).data, status=201)


class UserPackageListCreate(_AccountScoped, generics.ListCreateAPIView):
    """An account's user packages; POST sells a package (price defaults to the catalogue's, start date to
    today; the next bill date is the start date)."""

    serializer_class = UserPackageSerializer
    queryset = UserPackage.objects.none()

    def get_queryset(self):
        return selectors.user_packages(self.account_id())

    @extend_schema(request=UserPackageCreateSerializer, responses={201: UserPackageSerializer})
    def post(self, request, *args, **kwargs):
        return self.create_with(request, UserPackageCreateSerializer, services.user_package_create,
                                UserPackageSerializer)


class UsageListCreate(_AccountScoped, generics.ListCreateAPIView):
    """An account's usage records (already rated); a usage date may not be in the future."""

    serializer_class = UsageRecordSerializer
    queryset = UsageRecord.objects.none()

    def get_queryset(self):
        return selectors.usage_records(self.account_id())

    def create(self, request, *args, **kwargs):
        return self.create_with(request, UsageRecordSerializer, services.usage_record_create, UsageRecordSerializer)


class ChargeLineList(_AccountScoped, generics.ListAPIView):
    """An account's charge lines, newest first: charges positive, credits negative."""

    serializer_class = ChargeLineSerializer
    queryset = ChargeLine.objects.none()

    def get_queryset(self):
        return selectors.charge_lines(self.account_id())


class BillAccount(_AccountScoped, APIView):
    """Bill Account: bill what is due today for this account whatever its back-end status."""

    @extend_schema(request=None, responses={200: BillResultSerializer, 201: BillResultSerializer})
    def post(self, request, account_id: int):
        account_id = self.account_id()
        as_of = today()
        invoice = services.bill_account(account_id=account_id, as_of=as_of)
        if invoice is None:
            return Response({"billed": False, "detail": f"Nothing was due as of {as_of}.", "invoice": None})
        lines = selectors.invoice_lines(invoice)
        data = InvoiceSerializer(invoice, context={"lines": lines}).data
        detail = f"Billed {len(lines)} line{'s' if len(lines) != 1 else ''}, total {invoice.total}."
        return Response({"billed": True, "detail": detail, "invoice": data}, status=201)


class PaymentListCreate(_AccountScoped, generics.ListCreateAPIView):
    """An account's payments, newest first (SPEC §11). POST records a payment (amount > 0, a date not in
    the future, a method, a reference), allocated to the oldest open invoice first; or, with `reverses` and
    a `reason`, reverses a mistaken payment (a negative payment; payments are never deleted)."""

    serializer_class = PaymentSerializer
    queryset = Payment.objects.none()

    def get_queryset(self):
        return Payment.objects.filter(account_id=self.account_id()).order_by("-paid_on", "-id")

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def post(self, request, *args, **kwargs):
        account_id = self.account_id()
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "reverses" in data:
            payment = payments.payment_reverse(payment_id=data["reverses"], reason=data["reason"],
                                               account_id=account_id, actor=request.user, today=today())
        else:
            payment = payments.payment_record(
                account_id=account_id, amount=data["amount"], paid_on=data["paid_on"], method=data["method"],
                reference=data["reference"], actor=request.user, today=today(),
            )
        return Response(PaymentSerializer(payment).data, status=201)


class InvoiceList(_AccountScoped, APIView):
    """An account's invoices and credit notes, newest first, with due date, paid and state (open, partly_paid,
    paid): payments and credit notes pay the oldest invoice first."""

    @extend_schema(responses={200: InvoiceStateSerializer(many=True)})
    def get(self, request, account_id: int):
        allocated = payments.account_invoices(self.account_id())
        return Response(InvoiceStateSerializer(list(reversed(allocated)), many=True).data)
