from django.apps import AppConfig


class StatusesConfig(AppConfig):
    name = "statuses"
    verbose_name = "Account status types"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground
