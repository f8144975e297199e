"""The API router at /api/v1/: every app registers its views here."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api.views import register as register_accounts
from dunning.api.steps import register as register_collection_steps
from statuses.api.views import register as register_statuses

router = DefaultRouter()
register_statuses(router)
register_accounts(router)
register_collection_steps(router)

urlpatterns = [
    path("", include(router.urls)),
    path("", include("accounts.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("provisioning.api.urls")),
    path("", include("dunning.api.urls")),
    path("", include("reporting.api.urls")),
]
