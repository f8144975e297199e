from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground, its checks and receivers
