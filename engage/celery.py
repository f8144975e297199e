"""The Celery app. Tasks acknowledge late and have time limits (settings); beat runs the passes the apps
registered (engage/schedule.py)."""

import os

from celery import Celery

from .schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _set_beat_schedule(sender, **kwargs):
    """The apps register their passes when Django's apps are ready, which a worker and beat do before they
    finalize the Celery app (Celery's Django fix-up)."""
    sender.conf.beat_schedule = beat_schedule()
