from django.urls import path

from . import payment_views, views
from .bulk import views as bulk_views
from .bulk.services import bulk_change_cancel, bulk_change_start

app_name = "accounts"

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="list"),
    path("accounts/export.csv", views.AccountExportView.as_view(), name="export"),
    path("accounts/bulk-status/", bulk_views.BulkStatusView.as_view(), name="bulk-status"),
    path("accounts/bulk-status/<int:pk>/", bulk_views.BulkJobView.as_view(), name="bulk-job"),
    path("accounts/bulk-status/<int:pk>/progress/", bulk_views.BulkJobProgressView.as_view(), name="bulk-progress"),
    path("accounts/bulk-status/<int:pk>/save/", bulk_views.BulkJobActionView.as_view(action=bulk_change_start),
         name="bulk-save"),
    path("accounts/bulk-status/<int:pk>/cancel/", bulk_views.BulkJobActionView.as_view(action=bulk_change_cancel),
         name="bulk-cancel"),
    path("accounts/bulk-status/<int:pk>/skipped/", bulk_views.BulkSkippedView.as_view(), name="bulk-skipped"),
    path("accounts/bulk-status/<int:pk>/skipped.csv", bulk_views.BulkSkippedExportView.as_view(),
         name="bulk-skipped-export"),
    path("accounts/<int:pk>/", views.AccountOverviewView.as_view(), name="overview"),
    path("accounts/<int:pk>/status/", views.StatusPickView.as_view(), name="status"),
    path("accounts/<int:pk>/status/<int:type_pk>/", views.StatusOptionsView.as_view(), name="status-options"),
    path("accounts/<int:pk>/components/add/", views.ComponentAddView.as_view(), name="component-add"),
    path(
        "accounts/<int:pk>/components/<int:change_pk>/remove/",
        views.ComponentRemoveView.as_view(),
        name="component-remove",
    ),
    path("accounts/<int:pk>/tools/", views.ToolsView.as_view(), name="tools"),
    path("accounts/<int:pk>/payments/add/", payment_views.PaymentAddView.as_view(), name="payment-add"),
    path("accounts/<int:pk>/payments/<int:payment_pk>/reverse/", payment_views.PaymentReverseView.as_view(),
         name="payment-reverse"),
]
