"""One schedule: what beat runs is what scheduler health checks and what the statistics page says."""

import pytest
from django.urls import reverse

from engage.celery import app
from engage.models import PassRun
from engage.schedule import SCHEDULE, watched_passes
from reporting.health import PASS_SCHEDULES, scheduler_health

pytestmark = pytest.mark.django_db


def test_beat_runs_every_entry_of_the_table_with_a_registered_task():
    app.loader.import_default_modules()
    assert set(app.conf.beat_schedule) == {p.entry for p in SCHEDULE}
    for entry in SCHEDULE:
        assert entry.task in app.tasks, entry.task
        assert app.conf.beat_schedule[entry.entry]["schedule"] == entry.when


def test_health_checks_every_pass_that_records_its_runs_with_the_tables_schedule():
    assert PASS_SCHEDULES == watched_passes()
    assert {p.name for p in PASS_SCHEDULES} == set(PassRun.Name.values)
    shown = {p.name: p.schedule for p in scheduler_health().passes}
    assert shown == {p.name: p.schedule for p in PASS_SCHEDULES}


def test_the_statistics_page_states_the_schedule_and_lateness_from_the_table(support_client):
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    assert "billing pass 1\xa0day, 2\xa0hours" in html or "billing pass 1 day, 2 hours" in html
    assert "apply due status changes 5 minutes" in html
    assert "Beat records one daily at 00:05" in html
