from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Statistics, the daily snapshots and their chart, scheduler health and the sidebar: the top floor,
    which reads every app below it and is imported by none."""

    name = "reporting"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground, and its receiver
