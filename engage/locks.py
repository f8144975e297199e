"""Every lock on account rows, in one place (Saleor's `order/lock_objects.py`): the account row is what every
writer of an account's status or money locks first, always in pk order, so that two writers never deadlock.

The rows alone are locked (FOR UPDATE OF the account, no join): a join would drop a row that a concurrent
change moved to another status type, instead of waiting for it and reading the new version. Billing and
provisioning reach accounts only through the ORM and this ground, never by importing accounts/."""

from .account_model import get_account_model, get_status_type_model
from .errors import NotFoundError


def lock_accounts(account_ids, *, skip_locked: bool = False) -> dict:
    """Lock the accounts in pk order, each with its status type read after the lock: {id: account}. An id
    with no account is left out; with `skip_locked`, so is one another transaction holds."""
    accounts = {
        account.pk: account
        for account in get_account_model().objects.select_for_update(skip_locked=skip_locked)
        .filter(pk__any=sorted(account_ids)).order_by("pk")
    }
    type_ids = {account.status_type_id for account in accounts.values()}
    types = {t.pk: t for t in get_status_type_model().objects.filter(pk__in=type_ids)}
    for account in accounts.values():
        account.status_type = types[account.status_type_id]
    return accounts


def lock_account(account_id):
    """Lock one account (lock_accounts of one), or NotFoundError (404) when there is no such account."""
    account = lock_accounts([account_id]).get(int(account_id)) if str(account_id).isdigit() else None
    if account is None:
        raise NotFoundError(f"No account with id {account_id}.")
    return account
