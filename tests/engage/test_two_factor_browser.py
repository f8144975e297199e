"""Two-factor sign-in end to end in Chromium (SPEC §1): an Administrator who must use two factors is sent to
set them up, scans (reads the key), confirms with a real TOTP code, keeps the recovery codes; the next sign-in
asks for a code; and with the user name locked by someone else's guesses, the password and a code still get in.
axe finds no serious or critical violation on the pages."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.browser import axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "admin-pass-123"


def _code(key: bytes) -> str:
    return f"{totp(key):06d}"


def _next_code(key: bytes, used: str) -> str:
    """A code other than the one just used (a code works once): wait for the next 30-second step."""
    while (code := _code(key)) == used:
        time.sleep(1)
    return code


def _sign_in(page, base, *, password=PASSWORD, code=None):
    page.goto(f"{base}/login/")
    page.fill("#id_username", "admin1")
    page.fill("#id_password", password)
    if code is not None:
        page.fill("#id_code", code)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_an_administrator_sets_up_two_factors_and_signs_in_with_a_real_code(
    live_server, browser_page, admin_user, settings
):
    settings.ENGAGE_REQUIRE_TWO_FACTOR = True
    page, base = browser_page, live_server.url
    _sign_in(page, base)
    assert page.url.endswith("/me/two-factor/")  # required: no other page first
    page.goto(f"{base}/accounts/")
    assert page.url.endswith("/me/two-factor/")
    assert "must set up two-factor sign-in" in page.locator("main").inner_text()
    page.click("button:has-text('Set up two-factor sign-in')")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=qr-code] svg").is_visible()
    secret = page.locator("[data-testid=totp-secret]").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    assert axe_violations(page) == []
    shot(page, "two-factor-enrol")

    page.fill("#id_code", "000000" if _code(key) != "000000" else "111111")
    page.click("button:has-text('Turn on two-factor sign-in')")
    page.wait_for_load_state("networkidle")
    assert "That code is not right" in page.locator("main").inner_text()
    first = _code(key)
    page.fill("#id_code", first)
    page.click("button:has-text('Turn on two-factor sign-in')")
    page.wait_for_load_state("networkidle")
    codes = page.locator("[data-testid=recovery-codes] li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{6,}", c) for c in codes)
    assert "Two-factor sign-in is on." in page.locator("main").inner_text()
    shot(page, "two-factor-recovery-codes")
    page.goto(f"{base}/accounts/")
    assert page.url.endswith("/accounts/")  # proved in this session: every page again

    page.click("button:has-text('Sign out')")
    page.wait_for_load_state("networkidle")
    _sign_in(page, base)
    assert page.url.endswith("/login/code/")
    assert axe_violations(page) == []
    page.fill("#id_code", _next_code(key, first))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/accounts/")

    # Someone guesses the password from elsewhere until the user name is locked …
    from engage.models import SignInGuard

    SignInGuard.objects.update_or_create(
        kind="user", key="admin1", defaults={"failures": 10, "locked_at": "2026-01-01T00:00:00Z",
                                             "last_failure_at": "2026-01-01T00:00:00Z"},
    )
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state("networkidle")
    _sign_in(page, base)
    assert "This user name is locked" in page.locator("[data-testid=sign-in-error]").inner_text()
    shot(page, "two-factor-locked-asks-code")
    # … the Administrator still gets in with the password and a recovery code, on the page that asked.
    page.fill("#id_password", PASSWORD)
    page.fill("#id_code", codes[0])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/accounts/")
