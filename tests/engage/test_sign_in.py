"""Signing in (SPEC §1): failed tries limited per user name across addresses (a growing delay, then a lock an
Administrator or a command lifts) and per address across user names; a second factor gets through any lock;
the client address only from declared proxies; wrong API tokens throttled per address; sessions end after an
idle time and an absolute time; Django admin off unless turned on."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from rest_framework.test import APIClient

from engage import two_factor
from engage.models import AuditEntry, SignInGuard
from engage.tokens import make_token
from tests.engage.conftest import PASSWORD

pytestmark = pytest.mark.django_db



@pytest.fixture
def boss(django_user_model):
    """The only Administrator, with an authenticator."""
    user = django_user_model.objects.create_user("boss", "boss@example.net", PASSWORD)
    user.groups.add(Group.objects.get(name="Administrators"))
    two_factor.start(user)
    device = two_factor.pending(user)
    codes = two_factor.confirm(user, _code(device))
    user.recovery_codes = codes
    return user


def _code(device, *, ahead: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=ahead):06d}"


def _sign_in(client, password, *, username="ana", address="203.0.113.7", code=None):
    data = {"username": username, "password": password}
    if code is not None:
        data["code"] = code
    return client.post("/login/", data, REMOTE_ADDR=address)


def _fail(client, times, *, username="ana", address="203.0.113.7", step=timedelta(minutes=6), clock=None):
    """`times` wrong passwords, each after the previous one's delay has passed (the clock moves on)."""
    for _ in range(times):
        answer = _sign_in(client, "wrong", username=username, address=address)
        assert answer.status_code == 200, answer.content.decode()[:500]
        if clock is not None:
            clock.shift(step)


def test_after_three_failures_each_try_waits_longer_and_a_waiting_try_is_not_counted(client, ana, time_machine):
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    _fail(client, 3)
    early = _sign_in(client, PASSWORD)  # the right password, too early: not even checked
    assert early.status_code == 429 and early["Retry-After"] == "3"
    assert "wait 3 seconds before the next try" in early.content.decode()
    assert SignInGuard.objects.get(kind="user", key="ana").failures == 3
    time_machine.shift(timedelta(seconds=3))
    assert _sign_in(client, "wrong").status_code == 200  # the 4th failure: now 4 seconds
    assert _sign_in(client, PASSWORD).status_code == 429
    time_machine.shift(timedelta(seconds=5))
    assert _sign_in(client, PASSWORD).status_code == 302  # signed in: the failures are forgotten
    assert SignInGuard.objects.get(kind="user", key="ana").failures == 0


def test_guessing_from_many_addresses_locks_the_user_name_until_lifted(client, ana, time_machine):
    """The issue's case: 40 guesses from 10 addresses (4 each) used to lock nothing."""
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    answers = []
    for i in range(40):
        answers.append(_sign_in(client, "wrong", address=f"198.51.100.{i % 10}").status_code)
        time_machine.shift(timedelta(minutes=6))
    assert answers[:10] == [200] * 10 and set(answers[10:]) == {429}
    locked = _sign_in(client, PASSWORD, address="192.0.2.55")
    assert locked.status_code == 429
    assert "This user name is locked after too many failed sign-ins" in locked.content.decode()
    time_machine.shift(timedelta(days=3))
    assert _sign_in(client, PASSWORD, address="192.0.2.55").status_code == 429  # a lock does not wear off
    entry = AuditEntry.objects.get(action="sign_in_locked")
    assert entry.object_repr == "user name ana" and entry.after == {"failures": 10}

    call_command("sign_in_unlock", "ana")  # the documented recovery command
    assert _sign_in(client, PASSWORD, address="192.0.2.55").status_code == 302
    lifted = AuditEntry.objects.get(action="sign_in_unlocked")
    assert lifted.actor_name == "manage.py sign_in_unlock" and lifted.before == {"failures": 10, "locked": True}
    with pytest.raises(CommandError, match="not locked"):
        call_command("sign_in_unlock", "ana")


def test_a_locked_administrator_gets_in_with_password_and_authenticator_code(boss, time_machine):
    """The issue's weapon: anyone could lock the only Administrator out. Now a second factor always gets in."""
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    attacker = Client()
    _fail(attacker, 10, username="boss", address="192.0.2.66", clock=time_machine)
    refused = _sign_in(Client(), PASSWORD, username="boss", address="198.51.100.1")
    assert refused.status_code == 429 and 'name="code"' in refused.content.decode()  # the page asks for a code

    device = two_factor.authenticator(boss)
    wrong_code = _sign_in(Client(), PASSWORD, username="boss", address="198.51.100.1", code="000000")
    assert wrong_code.status_code == 429 and "password and code didn" in wrong_code.content.decode()
    time_machine.shift(timedelta(seconds=31))
    browser = Client()
    signed_in = _sign_in(browser, PASSWORD, username="boss", address="198.51.100.1", code=_code(device))
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert browser.get("/setup/").status_code == 200
    # A code without the password does nothing.
    time_machine.shift(timedelta(seconds=31))
    _fail(attacker, 10, username="boss", address="192.0.2.67", clock=time_machine)
    no_password = _sign_in(Client(), "wrong", username="boss", address="198.51.100.1", code=_code(device))
    assert no_password.status_code == 429


def test_a_recovery_code_gets_through_a_lock_once(boss, time_machine):
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    _fail(Client(), 10, username="boss", address="192.0.2.66", clock=time_machine)
    code = boss.recovery_codes[0]
    assert _sign_in(Client(), PASSWORD, username="boss", code=code).status_code == 302  # and the lock is lifted
    _fail(Client(), 10, username="boss", address="192.0.2.66", clock=time_machine)
    assert _sign_in(Client(), PASSWORD, username="boss", code=code).status_code == 429  # used up
    assert two_factor.recovery_codes_left(boss) == 9


def test_many_user_names_from_one_address_lock_that_address_for_a_while(client, ana, settings, time_machine):
    settings.ENGAGE_LOGIN_ADDRESS_LIMIT = 5
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    for name in ("u1", "u2", "u3", "u4", "u5"):
        assert _sign_in(client, "wrong", username=name).status_code == 200
    locked = _sign_in(client, PASSWORD)  # ana's right password, from the locked address
    assert locked.status_code == 429 and "from your network address: try again in 15 minutes" in locked.content.decode()
    assert _sign_in(Client(), PASSWORD, address="198.51.100.9").status_code == 302  # elsewhere: fine
    time_machine.shift(timedelta(minutes=15))
    assert _sign_in(Client(), PASSWORD).status_code == 302  # the address lock wears off


def test_an_administrator_sees_and_lifts_locks(admin_client, ana, time_machine):
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=True)
    _fail(Client(), 10, clock=time_machine)
    page = admin_client.get("/setup/locked-sign-ins/")
    text = page.content.decode()
    assert page.status_code == 200 and "ana" in text and "Locked" in text and "Lift" in text
    row = SignInGuard.objects.get(kind="user", key="ana")
    done = admin_client.post("/setup/locked-sign-ins/", {"guard": row.pk}, follow=True)
    assert "Lifted the lock on user name “ana”." in done.content.decode()
    assert _sign_in(Client(), PASSWORD).status_code == 302
    entry = AuditEntry.objects.get(action="sign_in_unlocked")
    assert entry.actor_name == "admin1" and entry.object_repr == "user name ana"
    again = admin_client.post("/setup/locked-sign-ins/", {"guard": row.pk}, follow=True)
    assert "nothing to lift" in again.content.decode()
    assert admin_client.post("/setup/locked-sign-ins/", {"guard": "x"}).status_code == 302


def test_support_cannot_see_or_lift_locks(support_client):
    assert support_client.get("/setup/locked-sign-ins/").status_code == 403
    assert support_client.post("/setup/locked-sign-ins/", {"guard": 1}).status_code == 403


def test_django_admin_is_off_unless_turned_on(admin_client):
    assert Client().get("/admin/login/").status_code == 302  # to Engage's sign-in page: nothing there
    assert admin_client.get("/admin/").status_code == 404
    assert admin_client.post("/admin/login/", {"username": "admin1", "password": "x"}).status_code == 404


def test_a_user_with_an_authenticator_signs_in_in_two_steps(boss, time_machine):
    # Past the 30-second step of the code that confirmed the authenticator (a code works once).
    time_machine.move_to(timezone.now() + timedelta(seconds=31), tick=True)
    browser = Client()
    first = _sign_in(browser, PASSWORD, username="boss")
    assert first.status_code == 302 and first["Location"] == "/login/code/"
    assert browser.get("/setup/").status_code == 302  # not signed in yet
    wrong = browser.post("/login/code/", {"code": "123456"})
    assert wrong.status_code == 400 and "4 tries left" in wrong.content.decode()
    device = two_factor.authenticator(boss)
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    done = browser.post("/login/code/", {"code": _code(device)})
    assert done.status_code == 302 and browser.get("/setup/").status_code == 200


def test_the_client_address_comes_only_from_declared_proxies(settings, client, ana, time_machine):
    settings.ENGAGE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.ENGAGE_LOGIN_ADDRESS_LIMIT = 3
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    for i in range(3):  # behind the proxy, a rotating forged address left of what the proxy appended
        client.post("/login/", {"username": f"x{i}", "password": "wrong"}, REMOTE_ADDR="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.7")
    assert SignInGuard.objects.get(kind="address", key="203.0.113.7").locked_at is not None
    # A direct connection (not a declared proxy) is believed, never its header.
    for i in range(3):
        client.post("/login/", {"username": f"y{i}", "password": "wrong"}, REMOTE_ADDR="198.51.100.8",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{100 + i}")
    assert SignInGuard.objects.get(kind="address", key="198.51.100.8").failures == 3
    assert not SignInGuard.objects.filter(key__startswith="192.0.2.").exists()


def test_wrong_api_tokens_are_throttled_per_address(settings, ana):
    from rest_framework.throttling import SimpleRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "bad_token": "5/minute"}
    SimpleRateThrottle.THROTTLE_RATES, saved = rates, SimpleRateThrottle.THROTTLE_RATES
    try:
        guesser = APIClient(REMOTE_ADDR="192.0.2.9")
        answers = []
        for i in range(7):
            guesser.credentials(HTTP_AUTHORIZATION=f"Token {i:040x}")
            answers.append(guesser.get("/api/v1/statistics/").status_code)
        assert answers == [401] * 5 + [429] * 2
        refused = guesser.get("/api/v1/statistics/")
        assert int(refused["Retry-After"]) > 0 and "wrong API tokens" in refused.json()["detail"]
        honest = APIClient(REMOTE_ADDR="198.51.100.3")
        honest.credentials(HTTP_AUTHORIZATION=f"Token {make_token(ana, name='laptop')[1]}")
        assert honest.get("/api/v1/statistics/").status_code == 200
    finally:
        SimpleRateThrottle.THROTTLE_RATES = saved


def test_each_token_is_throttled_on_its_own(monkeypatch, ana, django_user_model):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})  # DRF copied the setting
    other = django_user_model.objects.create_user("ben", "ben@example.net", PASSWORD)
    other.groups.add(*ana.groups.all())
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Token {make_token(ana, name='test')[1]}")
    second.credentials(HTTP_AUTHORIZATION=f"Token {make_token(other, name='test')[1]}")
    answers = [first.get("/api/v1/statistics/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert second.get("/api/v1/statistics/").status_code == 200  # another token has its own allowance
    same_user = APIClient()
    same_user.credentials(HTTP_AUTHORIZATION=f"Token {make_token(ana, name='second program')[1]}")
    assert same_user.get("/api/v1/statistics/").status_code == 200  # so does the same user's other token


def test_a_session_ends_after_30_idle_minutes_and_after_12_hours(ana, time_machine):
    time_machine.move_to("2026-12-08 09:00:00+00:00", tick=False)
    browser = Client()
    assert _sign_in(browser, PASSWORD).status_code == 302
    time_machine.shift(timedelta(minutes=29))
    assert browser.get("/accounts/").status_code == 200
    time_machine.shift(timedelta(minutes=30))
    ended = browser.get("/accounts/", follow=True)
    assert ended.redirect_chain[0][0].startswith("/login/")
    assert "signed out after 30 minutes without activity" in ended.content.decode()

    assert _sign_in(browser, PASSWORD).status_code == 302
    for minutes in range(20, 24 * 60, 20):  # noqa: B007 - read after the loop  # busy all day: a request every 20 minutes
        time_machine.shift(timedelta(minutes=20))
        answer = browser.get("/accounts/", follow=True)
        if answer.redirect_chain:
            break
    assert minutes == 12 * 60 and "Sessions last at most 12 hours" in answer.content.decode()


@pytest.mark.parametrize(
    "password, message",
    [
        ("12345678901234", "This password is entirely numeric."),
        ("password123456", "This password is too common."),
        ("Tr0ub4dour&3", None),
        ("Tr0ub4dour&", "This password is too short. It must contain at least 12 characters."),
        ("ana@example.net", "The password is too similar to the"),
    ],
)
def test_passwords_follow_the_full_validator_set_with_12_characters(ana, password, message):
    if message is None:
        validate_password(password, user=ana)
        return
    with pytest.raises(ValidationError) as err:
        validate_password(password, user=ana)
    assert any(m.startswith(message) for m in err.value.messages)


def test_production_refuses_debug_and_a_weak_secret_key():
    import subprocess
    import sys

    from tests.engage.test_operations import ROOT

    def start(**env):
        import os

        base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        code = "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'engage.settings'; django.setup()"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                              env={**base, "DJANGO_ENV": "production", "DJANGO_ALLOWED_HOSTS": "e.example", **env})

    good = "x7Qp-2mZ9vLr4TbN8wKc1YhJ6fDs3GaE5uPo0iRn_eVtBqXlMzCy"
    assert start(DJANGO_SECRET_KEY=good).returncode == 0
    debug = start(DJANGO_SECRET_KEY=good, DJANGO_DEBUG="true")
    assert debug.returncode != 0 and "refuses DJANGO_DEBUG=true" in debug.stderr
    weak = start(DJANGO_SECRET_KEY="a" * 60)
    assert weak.returncode != 0 and "at least 50 random characters" in weak.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_guesses_queue_on_the_counter_and_each_is_judged_in_turn(ana):
    """Five wrong passwords at once, two failures before the delay starts: the first is counted (the third
    failure), and the other four, judged after it under the row lock, wait for the delay: 429, not counted.
    Without the lock all five would have been checked and counted."""
    from tests.concurrency import run_at_once

    SignInGuard.objects.create(kind="user", key="ana", failures=2,
                               last_failure_at=timezone.now() - timedelta(hours=1))

    def guess(i):
        return lambda: _sign_in(Client(), "wrong", address=f"198.51.100.{i}").status_code

    answers = run_at_once(*(guess(i) for i in range(5)))
    assert sorted(answers) == [200, 429, 429, 429, 429]
    assert SignInGuard.objects.get(kind="user", key="ana").failures == 3


def test_required_two_factors_hold_back_an_administrator_who_has_not_proved_them(settings, admin_client, support_user):
    settings.ENGAGE_REQUIRE_TWO_FACTOR = True
    page = admin_client.get("/accounts/")
    assert page.status_code == 302 and page["Location"] == "/me/two-factor/"
    api = admin_client.get("/api/v1/statistics/")  # the session in the API too
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    assert admin_client.get("/me/two-factor/").status_code == 200
    support = Client()
    support.force_login(support_user)
    assert support.get("/accounts/").status_code == 200  # the setting asks it of Administrators
