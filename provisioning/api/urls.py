from django.urls import path

from .views import AccountProvisioningView

urlpatterns = [
    path("accounts/<int:account_id>/provisioning/", AccountProvisioningView.as_view(), name="account-provisioning"),
]
