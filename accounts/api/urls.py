"""Nested account routes of the status-change engine."""

from django.urls import path

from ..bulk import api as bulk
from . import status_changes

urlpatterns = [
    path(
        "accounts/<int:account_id>/status-changes/",
        status_changes.AccountStatusChangesView.as_view(),
        name="account-status-changes",
    ),
    path(
        "accounts/<int:account_id>/status-changes/preview/",
        status_changes.StatusChangePreviewView.as_view(),
        name="account-status-change-preview",
    ),
    path("status-changes/<int:pk>/", status_changes.StatusChangeDetailView.as_view(), name="status-change-detail"),
    path("bulk-status-changes/", bulk.BulkJobListView.as_view(), name="bulk-status-changes"),
    path("bulk-status-changes/<int:pk>/", bulk.BulkJobDetailView.as_view(), name="bulk-status-change-detail"),
    path("bulk-status-changes/<int:pk>/save/", bulk.BulkJobSaveView.as_view(), name="bulk-status-change-save"),
    path("bulk-status-changes/<int:pk>/cancel/", bulk.BulkJobCancelView.as_view(), name="bulk-status-change-cancel"),
    path("bulk-status-changes/<int:pk>/skipped/", bulk.BulkSkippedView.as_view(), name="bulk-status-change-skipped"),
]
