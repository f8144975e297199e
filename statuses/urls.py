from django.urls import path

from . import views

app_name = "statuses"

urlpatterns = [
    path("account-status-types/", views.StatusTypeListView.as_view(), name="type-list"),
    path("account-status-types/add/", views.StatusTypeEditView.as_view(), name="type-add"),
    path("account-status-types/<int:pk>/", views.StatusTypeEditView.as_view(), name="type-edit"),
    path("account-status-types/delete/", views.StatusTypeDeleteView.as_view(), name="type-delete"),
    path("status-reasons/", views.StatusReasonListView.as_view(), name="reason-list"),
    path("status-reasons/add/", views.StatusReasonEditView.as_view(), name="reason-add"),
    path("status-reasons/<int:pk>/", views.StatusReasonEditView.as_view(), name="reason-edit"),
    path("status-reasons/delete/", views.StatusReasonDeleteView.as_view(), name="reason-delete"),
]
