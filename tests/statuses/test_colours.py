"""One colour per back-end status, the same in Setup, the Overview, the list and the statistics chart."""

from datetime import date

import pytest

from accounts.engine import account_change_status
from reporting.statistics import record_snapshot, snapshot_chart
from statuses.colours import STATUS_COLOURS, THEME_HEX
from statuses.rules import BackendStatus

from ..accounts.factories import make_account, reason, status_type

pytestmark = pytest.mark.django_db


def test_every_back_end_status_has_a_colour_known_to_the_chart():
    assert set(STATUS_COLOURS) == set(BackendStatus.values)
    assert set(STATUS_COLOURS.values()) <= set(THEME_HEX)


def test_cancelled_is_red_in_setup_on_the_overview_in_the_list_and_in_the_chart(admin_client):
    account = make_account()
    account_change_status(
        account_id=account.pk, to_type=status_type("Cancelled"), reason=reason("Customer request"),
        option="immediately_with_no_transaction",
    )
    badge = 'class="badge rounded-pill text-bg-danger" data-backend-status="cancelled">Cancelled<'
    assert badge in admin_client.get("/setup/account-status-types/").content.decode()
    assert badge in admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert badge in admin_client.get("/accounts/").content.decode()
    record_snapshot(day=date(2031, 1, 1))
    record_snapshot(day=date(2031, 1, 2))
    svg = snapshot_chart(start=date(2031, 1, 1), end=date(2031, 1, 2))
    assert THEME_HEX["danger"] in svg and "#fd7e14" not in svg
