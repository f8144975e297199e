"""The two roles of SPEC §1 and the checks every view and API permission uses."""

from django.contrib.auth.models import Group, Permission

ADMINISTRATORS = "Administrators"
SUPPORT = "Support"


def _groups(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_engage_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._engage_groups = cached
    return cached


def is_administrator(user) -> bool:
    return user.is_authenticated and (user.is_superuser or ADMINISTRATORS in _groups(user))


def is_staff_role(user) -> bool:
    """Administrators and Support may use the accounts pages and the API."""
    return is_administrator(user) or SUPPORT in _groups(user)


# Model permissions of each role (the pages check roles; these keep Django admin in step): each app registers
# its own from its registry.py, with the verbs Support has on its models; Administrators have them all.
_SUPPORT_PERMISSIONS: dict[str, list[str]] = {}


def register_role_permissions(app_label: str, *, support: list[str]) -> None:
    _SUPPORT_PERMISSIONS[app_label] = list(support)


def grant_role_permissions(sender=None, **kwargs):
    """After every migrate: Administrators get every permission of the registered apps, Support its share."""
    apps = list(_SUPPORT_PERMISSIONS)
    # The groups come from a migration; after a test flush they may be absent until restored.
    admins = Group.objects.filter(name=ADMINISTRATORS).first()
    support = Group.objects.filter(name=SUPPORT).first()
    if admins is None or support is None:
        return
    admins.permissions.add(*Permission.objects.filter(content_type__app_label__in=apps))
    for app, verbs in _SUPPORT_PERMISSIONS.items():
        for verb in verbs:
            support.permissions.add(
                *Permission.objects.filter(content_type__app_label=app, codename__startswith=f"{verb}_")
            )
