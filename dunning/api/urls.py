from django.urls import path

from . import views

urlpatterns = [
    path("collections/dry-run/", views.DryRunView.as_view(), name="collections-dry-run"),
    path("accounts/<int:account_id>/collections-exemption/", views.ExemptionView.as_view(),
         name="account-collections-exemption"),
]
