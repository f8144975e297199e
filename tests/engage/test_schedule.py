"""One schedule, registered by the apps: what beat runs is what scheduler health checks and what the statistics
page says; the ground names no pass of its own apart from its housekeeping."""

from datetime import date

import pytest
from django.urls import reverse

from engage.business_day import run_pass_for
from engage.celery import app
from engage.schedule import schedule, scheduled, watched_passes
from reporting.health import scheduler_health

pytestmark = pytest.mark.django_db

# Each app's passes, as its registry.py declares them.
REGISTERED = {
    "apply_status_changes": "accounts.tasks.apply_due_status_changes_task",
    "billing": "billing.tasks.billing_pass_task",
    "provisioning": "provisioning.tasks.provisioning_pass_task",
    "switch_audit": "provisioning.tasks.switch_audit_task",
    "collections": "dunning.tasks.collections_pass_task",
    "statistics_snapshot": "reporting.tasks.statistics_snapshot_task",
}


def test_beat_runs_every_registered_entry_with_a_registered_task():
    app.loader.import_default_modules()
    app.finalize()
    assert set(app.conf.beat_schedule) == {p.entry for p in schedule()}
    for entry in schedule():
        assert entry.task in app.tasks, entry.task
        assert app.conf.beat_schedule[entry.entry]["schedule"] == entry.when
    housekeeping = {p.task for p in schedule() if p.name is None}
    assert housekeeping == {"engage.outbox.relay", "engage.tasks.prune_pass_runs_task",
                            "engage.tasks.prune_once_keys_task", "engage.tasks.prune_sign_ins_task",
                            "accounts.tasks.fold_status_counters_task",
                            "reporting.tasks.fold_reason_counts_task"}


def test_health_checks_every_pass_that_records_its_runs_each_registered_by_its_app():
    assert {p.name: p.task for p in watched_passes()} == REGISTERED
    shown = {p.name: p.schedule for p in scheduler_health().passes}
    assert shown == {p.name: p.schedule for p in watched_passes()}


def test_the_business_day_runs_due_changes_then_billing_then_collections():
    order = sorted((p for p in schedule() if p.day_order is not None), key=lambda p: p.day_order)
    assert [p.name for p in order] == ["apply_status_changes", "billing", "collections"]
    assert scheduled("billing").label == "Billing pass"
    result = run_pass_for("billing", date(2031, 3, 1))  # nothing ran before: the day's due changes come first
    assert result["caught_up"] == [{"day": "2031-03-01", "pass": "apply_status_changes",
                                    "summary": {"applied": 0, "failed": 0, "skipped": 0, "errors": 0}}]
    assert result["billing"]["as_of"] == "2031-03-01"


def test_the_statistics_page_states_the_schedule_and_lateness_from_the_registry(support_client):
    html = support_client.get(reverse("reporting:statistics")).content.decode()
    assert "billing pass 1\xa0day, 2\xa0hours" in html or "billing pass 1 day, 2 hours" in html
    assert "apply due status changes 5 minutes" in html
    assert "Beat records one daily at 00:05" in html


def test_a_fresh_beat_process_sees_every_registered_entry():
    # What `celery beat` does before it reads its schedule (celery/apps/beat.py: init_loader): Django is set up
    # by Celery's fix-up when the loader imports the task modules, then the app is finalized. The apps'
    # registries are filled by then.
    import subprocess
    import sys

    script = ("from engage.celery import app; app.loader.init_worker(); app.finalize(); "
              "print(' '.join(sorted(app.conf.beat_schedule)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == sorted(p.entry for p in schedule())
