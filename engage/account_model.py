"""The one seam to the account model for billing and provisioning, in the spirit of get_user_model():
they reach accounts through the ORM and this module, never by importing accounts/ (which imports them)."""

from django.apps import apps
from django.conf import settings
from django.http import Http404


def get_account_model():
    """The model named by settings.ENGAGE_ACCOUNT_MODEL ("accounts.Account")."""
    return apps.get_model(settings.ENGAGE_ACCOUNT_MODEL, require_ready=False)


def get_status_type_model():
    return get_account_model()._meta.get_field("status_type").related_model


def account_exists(account_id) -> bool:
    """Whether an account with this id exists; anything that is not a whole number is no account."""
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        return False
    return get_account_model().objects.filter(pk=account_id).exists()


def account_id_or_404(account_id) -> int:
    """An API path's account id, or 404 when there is no such account."""
    if not account_exists(account_id):
        raise Http404("No such account.")
    return account_id
