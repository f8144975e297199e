"""Sign-in lock-out (django-axes), the Administrators' unlock, password rules and API throttling (SPEC §1)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "Tr0ub4dour&3-horse"


@pytest.fixture
def ana(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("ana", "ana@example.net", PASSWORD)
    user.groups.add(Group.objects.get(name="Support"))
    return user


def _sign_in(client, password, *, username="ana", address="203.0.113.7"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_failures_lock_the_user_name_from_that_address_with_a_clear_message(client, ana):
    for _ in range(4):
        assert _sign_in(client, "wrong").status_code == 200  # the login form again, with its error
    locked = _sign_in(client, "wrong")  # the fifth
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this user name from this address" in locked.content.decode()
    assert "Try again in 15 minutes" in locked.content.decode()

    # Even the right password is refused now, from that address …
    right = _sign_in(client, PASSWORD)
    assert right.status_code == 429 and client.get("/accounts/").status_code == 302
    # … but the same user name from another address is not locked out.
    assert _sign_in(client, PASSWORD, address="198.51.100.20").status_code == 302


def test_the_lock_out_ends_after_15_minutes(client, ana):
    for _ in range(5):
        _sign_in(client, "wrong")
    assert _sign_in(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert _sign_in(client, PASSWORD).status_code == 302


def test_an_administrator_sees_and_lifts_a_lock_out(admin_client, ana):
    client = Client()  # ana's browser; admin_client is the Administrator's
    for _ in range(5):
        _sign_in(client, "wrong")
    page = admin_client.get("/setup/locked-sign-ins/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "ana" in text and "203.0.113.7" in text and "Unlock" in text

    attempt = AccessAttempt.objects.get(username="ana")
    done = admin_client.post("/setup/locked-sign-ins/", {"attempt": attempt.pk}, follow=True)
    assert "Unlocked “ana” from 203.0.113.7." in done.content.decode()
    assert "No one is locked out now." in done.content.decode()
    assert _sign_in(client, PASSWORD).status_code == 302

    again = admin_client.post("/setup/locked-sign-ins/", {"attempt": attempt.pk}, follow=True)
    assert "That lock-out has already ended or been lifted." in again.content.decode()
    assert admin_client.post("/setup/locked-sign-ins/", {"attempt": "x"}).status_code == 302


def test_support_cannot_see_or_lift_lock_outs(support_client):
    assert support_client.get("/setup/locked-sign-ins/").status_code == 403
    assert support_client.post("/setup/locked-sign-ins/", {"attempt": 1}).status_code == 403


@pytest.mark.parametrize(
    "password, message",
    [
        ("12345678901", "This password is entirely numeric."),
        ("password123", "This password is too common."),
        ("short", "This password is too short."),
        ("ana@example.net", "The password is too similar to the"),
    ],
)
def test_passwords_follow_the_full_validator_set(ana, password, message):
    with pytest.raises(ValidationError) as err:
        validate_password(password, user=ana)
    assert any(m.startswith(message) for m in err.value.messages)


def test_each_token_is_throttled_on_its_own(monkeypatch, ana, django_user_model):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})  # DRF copied the setting
    other = django_user_model.objects.create_user("ben", "ben@example.net", PASSWORD)
    other.groups.add(*ana.groups.all())
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=ana).key}")
    second.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    answers = [first.get("/api/v1/statistics/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = first.get("/api/v1/statistics/")
    assert int(refused["Retry-After"]) > 0 and "throttled" in refused.json()["detail"].lower()
    assert second.get("/api/v1/statistics/").status_code == 200  # another token has its own allowance


def test_behind_a_proxy_the_forwarded_address_counts_and_a_forged_one_does_not(settings, client, ana):
    settings.ENGAGE_TRUSTED_PROXIES = 1
    for i in range(5):  # the client rotates a forged address in front of what the proxy appended
        client.post("/login/", {"username": "ana", "password": "wrong"}, REMOTE_ADDR="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.7")
    locked = client.post("/login/", {"username": "ana", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2",
                         HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7")
    assert locked.status_code == 429
    other = client.post("/login/", {"username": "ana", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2",
                        HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert other.status_code == 302


def test_an_unlock_is_in_the_audit_log(admin_client, ana):
    from engage.models import AuditEntry

    client = Client()
    for _ in range(5):
        _sign_in(client, "wrong")
    admin_client.post("/setup/locked-sign-ins/", {"attempt": AccessAttempt.objects.get().pk})
    entry = AuditEntry.objects.get(action="sign_in_unlocked")
    assert entry.actor_name == "admin1" and entry.object_repr == "ana from 203.0.113.7"
    assert entry.before == {"failures": 5} and entry.after == {"failures": 0}
