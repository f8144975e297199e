from django.utils.functional import SimpleLazyObject

from engage.roles import is_staff_role

from .health import scheduler_health
from .selectors import account_statistics


def sidebar(request):
    """Account Statistics (SPEC §8) and scheduler warnings on every signed-in page.

    Lazy: evaluated only when a template shows the sidebar (an htmx fragment never does), and once
    per response; each costs a fixed number of queries, whatever the number of accounts."""
    user = getattr(request, "user", None)
    if user is None or not is_staff_role(user):
        return {}
    return {
        "account_statistics": SimpleLazyObject(account_statistics),
        "scheduler_warnings": SimpleLazyObject(lambda: scheduler_health().warnings),
    }
