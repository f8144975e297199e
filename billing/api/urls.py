from django.urls import path

from . import views

urlpatterns = [
    path("packages/", views.PackageListCreate.as_view(), name="billing-packages"),
    path("accounts/<int:account_id>/packages/", views.UserPackageListCreate.as_view(), name="billing-user-packages"),
    path("accounts/<int:account_id>/usage/", views.UsageListCreate.as_view(), name="billing-usage"),
    path("accounts/<int:account_id>/charges/", views.ChargeLineList.as_view(), name="billing-charges"),
    path("accounts/<int:account_id>/bill/", views.BillAccount.as_view(), name="billing-bill-account"),
    path("accounts/<int:account_id>/payments/", views.PaymentListCreate.as_view(), name="billing-payments"),
    path("accounts/<int:account_id>/invoices/", views.InvoiceList.as_view(), name="billing-invoices"),
]
