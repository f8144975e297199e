from django.apps import AppConfig


class DunningConfig(AppConfig):
    """Collections (SPEC §11). Called `dunning`, the trade's word, since `collections` is Python's own."""

    name = "dunning"
    verbose_name = "Collections"

    def ready(self):
        from . import registry  # noqa: F401 - what this app registers with the ground, and its receivers
