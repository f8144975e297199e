from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EngageConfig(AppConfig):
    name = "engage"
    verbose_name = "Engage"

    def ready(self):
        from .lookups import register
        from .roles import grant_role_permissions

        register()

        post_migrate.connect(grant_role_permissions, dispatch_uid="engage_grant_role_permissions")
