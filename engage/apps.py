from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EngageConfig(AppConfig):
    """The ground: it keeps the registries (engage/schedule.py, audit.py, api_schema.py, panels.py) that each
    app above fills from its own registry.py when Django's apps are ready."""

    name = "engage"
    verbose_name = "Engage"

    def ready(self):
        from . import registry  # noqa: F401 - the ground's own passes and audit actions
        from .lookups import register
        from .roles import grant_role_permissions

        register()

        post_migrate.connect(grant_role_permissions, dispatch_uid="engage_grant_role_permissions")
