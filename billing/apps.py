from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground
