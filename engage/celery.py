"""The Celery app. Tasks acknowledge late and have time limits (settings); beat runs engage/schedule.py."""

import os

from celery import Celery

from .schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = beat_schedule()
