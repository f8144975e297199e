from django.urls import path

from . import setup_views, views

app_name = "dunning"

urlpatterns = [
    path("setup/collection-steps/", setup_views.StepListView.as_view(), name="step-list"),
    path("setup/collection-steps/add/", setup_views.StepEditView.as_view(), name="step-add"),
    path("setup/collection-steps/<int:pk>/", setup_views.StepEditView.as_view(), name="step-edit"),
    path("setup/collection-steps/delete/", setup_views.StepDeleteView.as_view(), name="step-delete"),
    path("collections/dry-run/", views.DryRunView.as_view(), name="dry-run"),
    path("accounts/<int:pk>/collections-exemption/", views.ExemptionView.as_view(), name="exemption"),
]
