from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self):
        # Imported once the app registry is ready: these modules import models.
        from django.core import checks

        from statuses.signals import backend_status_changed

        from . import registry  # noqa: F401 - what this app registers with the ground
        from .checks import check_provisioning_settings
        from .services import on_backend_status_changed

        checks.register(check_provisioning_settings)
        backend_status_changed.connect(on_backend_status_changed, dispatch_uid="provisioning_backend_status_changed")
