"""The pass commands (SPEC §6): --date exactly YYYY-MM-DD, no future date without --allow-future,
progress on long runs and a summary at the end."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import StatusChange
from engage.clock import today
from engage.commands import PassCommand

from ..accounts.factories import make_account, reason, status_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

COMMANDS = ["apply_status_changes", "run_billing_pass", "run_provisioning_pass", "record_snapshot"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("typo", ["20261128", "2026-W48-6", "2026-11-28T00:00", "28/11/2026", "2026-13-01", " "])
def test_a_date_not_written_yyyy_mm_dd_is_refused(command, typo):
    with pytest.raises(CommandError, match=r"--date must be a date \(YYYY-MM-DD\)"):
        call_command(command, "--date", typo)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_future_date_is_refused_without_allow_future_and_nothing_is_done(command, capsys):
    account = make_account()
    from accounts.engine import account_change_status

    account_change_status(
        account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
        effective_date=date(2099, 12, 30), reason=reason("Non-payment"),
    )
    with pytest.raises(CommandError, match="is after today .*Give --allow-future"):
        call_command(command, "--date", "2100-01-01")
    assert StatusChange.objects.get(account=account).state == "pending"


def test_allow_future_runs_the_pass_as_of_that_date(capsys):
    later = today() + timedelta(days=3)
    call_command("apply_status_changes", "--date", later.isoformat(), "--allow-future")
    assert f"Applied due status changes as of {later:%Y-%m-%d}: {{'applied': 0" in capsys.readouterr().out


def test_today_and_earlier_need_no_flag(capsys):
    call_command("apply_status_changes", "--date", today().isoformat())
    call_command("apply_status_changes")
    assert capsys.readouterr().out.count("Applied due status changes as of") == 2


def test_long_runs_print_progress_then_a_summary(capsys, monkeypatch):
    from accounts import passes
    from accounts.engine import account_change_status

    monkeypatch.setattr(PassCommand, "progress_every", 0.0)
    monkeypatch.setattr(passes, "DUE_CHUNK", 1)
    for i in range(3):
        account = make_account(email=f"c{i}@example.com")
        account_change_status(
            account_id=account.pk, to_type=status_type("Suspended"), option="specific_date",
            effective_date=today() + timedelta(days=1), reason=reason("Non-payment"),
        )
    call_command("apply_status_changes", "--date", (today() + timedelta(days=1)).isoformat(), "--allow-future",
                 "--yes")
    out = capsys.readouterr().out
    assert "Apply due status changes: 1 done so far…" in out
    assert "Apply due status changes: 3 done so far…" in out
    assert out.strip().endswith("{'applied': 3, 'failed': 0, 'skipped': 0, 'errors': 0}")

