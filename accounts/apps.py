from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground and with billing
