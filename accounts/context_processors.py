from engage.roles import is_staff_role

from .selectors import account_statistics


def sidebar(request):
    """Account Statistics on every signed-in page (SPEC §8)."""
    user = getattr(request, "user", None)
    if user is None or not is_staff_role(user):
        return {}
    return {"account_statistics": account_statistics()}
