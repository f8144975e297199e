"""Nested account routes of the status-change engine."""

from django.urls import path

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
]
