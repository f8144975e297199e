"""Users managed in the product (SPEC §1, issue 30): Setup → Users, Your sign-in (/me/) and `manage.py staff_user` /
`manage.py api_token`, all through engage/users.py. Each test is a rule as the people concerned see it: pages,
sign-ins, API answers and audit entries."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import totp
from rest_framework.test import APIClient

from engage import two_factor, users
from engage.clock import today
from engage.models import ApiToken, AuditEntry, UserAccess
from engage.tokens import make_token
from tests.engage.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SHORT = "Qz7!xkpL"  # 8 characters: Django's default minimum, below Engage's 12
TOO_SHORT = "This password is too short. It must contain at least 12 characters."


def sign_in(username="ana", password=PASSWORD) -> Client:
    """A client signed in through the sign-in page, as a person is (its session is tracked, so it can be ended)."""
    client = Client()
    answer = client.post("/login/", {"username": username, "password": password})
    assert answer.status_code == 302, answer.content.decode()[:800]
    return client


def signed_in(client) -> bool:
    answer = client.get("/accounts/")
    return answer.status_code == 200


def api_with(key) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def entries(action, **fields):
    return list(AuditEntry.objects.filter(action=action, **fields).order_by("id"))


def staff_user(*args, stdin=None, monkeypatch=None) -> str:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
    out = io.StringIO()
    call_command("staff_user", *args, stdout=out)
    return out.getvalue().strip()


def api_token(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


# manage.py staff_user and api_token

def test_a_role_change_does_not_reactivate_a_deactivated_user_nor_bring_back_their_token(client, monkeypatch):
    """The issue's case: `--deactivate` then `--role administrators` used to reactivate silently, and the old
    token answered 200 with Administrator rights."""
    assert staff_user("ana", "--role", "support", "--password-stdin", stdin=PASSWORD, monkeypatch=monkeypatch) == (
        "Created ana: Support.")
    key = api_token("ana", "--name", "script")
    assert api_with(key).get("/api/v1/status-types/").status_code == 200

    assert "deactivated" in staff_user("ana", "--deactivate")
    assert api_with(key).get("/api/v1/status-types/").status_code == 401
    out = staff_user("ana", "--role", "administrators")
    assert out.startswith("Updated ana: Administrator, deactivated.")

    assert api_with(key).get("/api/v1/status-types/").status_code == 401
    refused = client.post("/login/", {"username": "ana", "password": PASSWORD})
    assert refused.status_code != 302 and not signed_in(client)
    assert ApiToken.objects.get(name="script").revoked_at is not None

    assert "reactivated" in staff_user("ana", "--reactivate")
    assert api_with(key).get("/api/v1/status-types/").status_code == 401  # revoked for good
    assert signed_in(sign_in()) and sign_in().get("/setup/").status_code == 200  # as an Administrator now

    by_command = AuditEntry.objects.filter(object_type="user", actor_name="manage.py staff_user")
    assert [e.action for e in by_command.order_by("id")] == [
        "user_created", "user_deactivated", "user_role_changed", "user_reactivated"]
    assert by_command.get(action="user_deactivated").after == {"is_active": False, "sessions_ended": 0,
                                                                "tokens_revoked": 1}
    assert by_command.get(action="user_role_changed").before == {"role": "Support"}
    assert "password" not in by_command.get(action="user_created").after
    assert entries("token_created")[0].actor_name == "manage.py api_token"
    assert entries("token_revoked")[0].actor_name == "manage.py staff_user"


def test_staff_user_refuses_a_short_password_and_a_new_user_without_a_role(monkeypatch, django_user_model):
    with pytest.raises(CommandError, match="at least 12 characters"):
        staff_user("ben", "--role", "support", "--password-stdin", stdin=SHORT, monkeypatch=monkeypatch)
    assert not django_user_model.objects.filter(username="ben").exists()
    with pytest.raises(CommandError, match="needs --role"):
        staff_user("carl")
    with pytest.raises(CommandError, match="no user"):
        staff_user("carl", "--reactivate")
    with pytest.raises(CommandError, match="not allowed with argument"):
        staff_user("carl", "--deactivate", "--reactivate")


def test_staff_user_sets_a_forgotten_password_and_removes_a_lost_authenticator(ana, monkeypatch):
    device = two_factor.start(ana)
    two_factor.confirm(ana, f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    old = sign_in()

    out = staff_user("ana", "--password-stdin", "--remove-two-factor", stdin="A-new-and-long-one-42",
                     monkeypatch=monkeypatch)
    assert "password set" in out and "two-factor sign-in removed" in out
    assert not two_factor.is_enrolled(ana)
    assert not signed_in(old)  # the old password's sessions ended
    assert signed_in(sign_in(password="A-new-and-long-one-42"))  # no code asked any more
    assert entries("two_factor_removed")[0].actor_name == "manage.py staff_user"


def test_the_last_administrator_cannot_be_moved_to_support_by_the_command(admin_user):
    with pytest.raises(CommandError, match="last active Administrator"):
        staff_user("admin1", "--role", "support")
    with pytest.raises(CommandError, match="last active Administrator"):
        staff_user("admin1", "--deactivate")
    admin_user.refresh_from_db()
    assert admin_user.is_active and users.role_of(admin_user) == "administrators"


def test_api_token_prints_the_key_once_and_checks_the_expiry(ana, frozen_today):
    key = api_token("ana", "--name", "nightly", "--expires", str(frozen_today + timedelta(days=30)))
    assert len(key) == 40 and api_with(key).get("/api/v1/").status_code == 200
    token = ApiToken.objects.get(user=ana)
    assert token.name == "nightly" and token.prefix == key[:8] and key not in str(token.digest)
    assert timezone.localtime(token.expires_at).date() == frozen_today + timedelta(days=30)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        api_token("ana", "--name", "x", "--expires", "20320101")
    with pytest.raises(CommandError, match="after today"):
        api_token("ana", "--name", "x", "--expires", str(frozen_today))
    with pytest.raises(CommandError, match="already a token named"):
        api_token("ana", "--name", "nightly")
    with pytest.raises(CommandError, match="no user"):
        api_token("nobody", "--name", "x")


# Setup → Users

def test_support_gets_403_on_every_users_page_and_changes_nothing(support_client, ana):
    token, _key = make_token(ana, name="kept")
    for url in ("/setup/users/", "/setup/users/add/", f"/setup/users/{ana.pk}/"):
        assert support_client.get(url).status_code == 403, url
    posts = {
        "/setup/users/add/": {"username": "eve", "email": "", "role": "administrators", "password": PASSWORD,
                              "password_again": PASSWORD},
        f"/setup/users/{ana.pk}/role/": {"role": "administrators"},
        f"/setup/users/{ana.pk}/deactivate/": {},
        f"/setup/users/{ana.pk}/reactivate/": {},
        f"/setup/users/{ana.pk}/reset-password/": {},
        f"/setup/users/{ana.pk}/revoke-tokens/": {"all": "1"},
    }
    for url, data in posts.items():
        assert support_client.post(url, data).status_code == 403, url
    ana.refresh_from_db()
    token.refresh_from_db()
    assert ana.is_active and users.role_of(ana) == "support" and ana.check_password(PASSWORD)
    assert token.revoked_at is None and not AuditEntry.objects.filter(object_type__in=["user", "API token"]).exists()


def test_the_list_shows_each_user_in_a_fixed_number_of_queries(admin_client, admin_user, ana, django_user_model):
    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get("/setup/users/")
        assert page.status_code == 200
        return len(queries), page.content.decode()

    few, _html = list_queries()
    for i in range(8):
        user = django_user_model.objects.create_user(f"user{i}", f"user{i}@example.net", PASSWORD)
        user.groups.add(Group.objects.get(name="Support" if i % 2 else "Administrators"))
        make_token(user, name="a")
        make_token(user, name="b")
    device = two_factor.start(ana)
    two_factor.confirm(ana, f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    make_token(ana, name="usable")
    make_token(ana, name="expired", expires_at=timezone.now() - timedelta(days=1))
    users.revoke_token(make_token(ana, name="revoked")[0])
    ana.last_login = timezone.now()
    ana.save()

    many, html = list_queries()
    assert many == few, "the Users list makes a query per user"
    row = html[html.index('data-testid="user-row-ana"'):]
    row = row[:row.index("</tr>")]
    assert "ana@example.net" in row and "Support" in row and "Active" in row and ">On<" in row
    assert '<td class="text-end">1</td>' in row  # the usable token only
    admin_row = html[html.index('data-testid="user-row-admin1"'):]
    admin_row = admin_row[:admin_row.index("</tr>")]
    assert "Administrator" in admin_row and "Off" in admin_row and "never" not in admin_row  # signed in


def test_an_administrator_adds_a_user_who_then_chooses_their_own_password(admin_client):
    page = admin_client.get("/setup/users/add/")
    assert page.status_code == 200 and "at least 12 characters" in page.content.decode()
    data = {"username": "ben", "email": "ben@example.net", "role": "support", "password": SHORT,
            "password_again": SHORT}
    refused = admin_client.post("/setup/users/add/", data)
    assert refused.status_code == 400 and TOO_SHORT in refused.content.decode()
    refused = admin_client.post("/setup/users/add/", {**data, "password": PASSWORD, "password_again": PASSWORD + "x"})
    assert refused.status_code == 400 and "The two passwords differ." in refused.content.decode()

    added = admin_client.post("/setup/users/add/", {**data, "password": PASSWORD, "password_again": PASSWORD})
    assert added.status_code == 302
    entry = entries("user_created")[0]
    assert entry.after == {"username": "ben", "email": "ben@example.net", "role": "Support", "is_active": True,
                           "must_change_password": True}
    assert entry.actor_name == "admin1"
    again = admin_client.post("/setup/users/add/", {**data, "username": "BEN", "password": PASSWORD,
                                                     "password_again": PASSWORD})
    assert again.status_code == 400 and "There is already a user" in again.content.decode()

    ben = sign_in("ben")
    sent = ben.get("/accounts/")
    assert sent.status_code == 302 and sent["Location"] == "/me/password/"
    page = ben.get("/me/password/")
    assert "An Administrator set your password" in page.content.decode()
    chosen = ben.post("/me/password/", {"old_password": PASSWORD, "new_password": "Ben-chose-this-one-7",
                                         "new_password_again": "Ben-chose-this-one-7"})
    assert chosen.status_code == 302
    assert signed_in(ben)  # still signed in, and no longer sent to the password page
    assert not UserAccess.objects.get(user__username="ben").must_change_password


def test_a_role_change_on_the_page_signs_the_user_out_and_revokes_their_tokens(admin_client, ana):
    ana_browser = sign_in()
    assert signed_in(ana_browser) and ana_browser.get("/setup/").status_code == 403
    _token, key = make_token(ana, name="script")

    changed = admin_client.post(f"/setup/users/{ana.pk}/role/", {"role": "administrators"}, follow=True)
    assert "is now Administrator" in changed.content.decode()

    assert ana_browser.get("/accounts/")["Location"].startswith("/login/")
    assert api_with(key).get("/api/v1/").status_code == 401
    assert sign_in().get("/setup/").status_code == 200  # the new role, after signing in again
    entry = entries("user_role_changed")[0]
    assert (entry.object_id, entry.actor_name, entry.before) == (ana.pk, "admin1", {"role": "Support"})
    assert entry.after == {"role": "Administrator", "sessions_ended": 1, "tokens_revoked": 1}
    assert entries("token_revoked")[0].object_repr.startswith("script")

    same = admin_client.post(f"/setup/users/{ana.pk}/role/", {"role": "administrators"}, follow=True)
    assert "nothing changed" in same.content.decode() and len(entries("user_role_changed")) == 1


def test_deactivation_on_the_page_holds_until_reactivated(admin_client, ana):
    ana_browser = sign_in()
    page = admin_client.post(f"/setup/users/{ana.pk}/deactivate/", follow=True)
    assert "is deactivated" in page.content.decode()
    assert not signed_in(ana_browser)
    assert Client().post("/login/", {"username": "ana", "password": PASSWORD}).status_code != 302

    admin_client.post(f"/setup/users/{ana.pk}/role/", {"role": "administrators"})
    ana.refresh_from_db()
    assert not ana.is_active and users.role_of(ana) == "administrators"
    twice = admin_client.post(f"/setup/users/{ana.pk}/deactivate/", follow=True)
    assert "already deactivated" in twice.content.decode()

    admin_client.post(f"/setup/users/{ana.pk}/reactivate/")
    assert signed_in(sign_in())
    assert [(e.before, e.after) for e in entries("user_deactivated") + entries("user_reactivated")] == [
        ({"is_active": True}, {"is_active": False, "sessions_ended": 1, "tokens_revoked": 0}),
        ({"is_active": False}, {"is_active": True}),
    ]


def test_the_last_active_administrator_cannot_deactivate_or_demote_themselves(admin_client, admin_user,
                                                                              django_user_model):
    refused = admin_client.post(f"/setup/users/{admin_user.pk}/deactivate/", follow=True)
    assert "is the last active Administrator and cannot be deactivated" in refused.content.decode()
    refused = admin_client.post(f"/setup/users/{admin_user.pk}/role/", {"role": "support"}, follow=True)
    assert "is the last active Administrator and cannot be moved to Support" in refused.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active and users.role_of(admin_user) == "administrators"

    # A deactivated Administrator does not count; an active one does.
    other = django_user_model.objects.create_user("admin2", "", PASSWORD, is_active=False)
    other.groups.add(Group.objects.get(name="Administrators"))
    with pytest.raises(users.DomainError, match="last active Administrator"):
        users.set_role(admin_user, "support")
    users.reactivate(other)
    users.set_role(admin_user, "support")
    assert users.role_of(other) == "administrators"
    with pytest.raises(users.DomainError, match="last active Administrator"):
        users.deactivate(other)
    assert not entries("user_deactivated")


def test_reset_password_shows_the_new_one_once_and_the_user_must_replace_it(admin_client, admin_user, ana):
    ana_browser = sign_in()
    reset = admin_client.post(f"/setup/users/{ana.pk}/reset-password/")
    assert reset.status_code == 302 and reset["Location"] == f"/setup/users/{ana.pk}/"
    page = admin_client.get(reset["Location"])
    html = page.content.decode()
    assert 'data-testid="new-password"' in html and "no-store" in page.get("Cache-Control", "")
    password = html.split('user-select-all">')[1].split("<")[0]
    assert len(password) == 23
    assert 'data-testid="new-password"' not in admin_client.get(reset["Location"]).content.decode()  # once

    assert not signed_in(ana_browser)
    assert Client().post("/login/", {"username": "ana", "password": PASSWORD}).status_code != 302
    ana_again = sign_in(password=password)
    assert ana_again.get("/accounts/")["Location"] == "/me/password/"
    entry = entries("password_reset")[0]
    assert password not in str(entry.after) and entry.after["must_change_password"] is True

    own = admin_client.post(f"/setup/users/{admin_user.pk}/reset-password/", follow=True)
    assert "Change your own password under Your sign-in" in own.content.decode()


def test_an_administrator_revokes_one_token_or_all_of_them(admin_client, ana, django_user_model):
    one, one_key = make_token(ana, name="one")
    _two, two_key = make_token(ana, name="two")
    page = admin_client.get(f"/setup/users/{ana.pk}/").content.decode()
    assert "one" in page and one.prefix in page and 'data-testid="revoke-all"' in page

    admin_client.post(f"/setup/users/{ana.pk}/revoke-tokens/", {"token": one.pk})
    assert api_with(one_key).get("/api/v1/").status_code == 401
    assert api_with(two_key).get("/api/v1/").status_code == 200
    admin_client.post(f"/setup/users/{ana.pk}/revoke-tokens/", {"all": "1"})
    assert api_with(two_key).get("/api/v1/").status_code == 401
    assert [e.object_repr.split(" ")[0] for e in entries("token_revoked")] == ["one", "two"]
    elsewhere, _key = make_token(django_user_model.objects.create_user("zed", "", PASSWORD), name="z")
    wrong = admin_client.post(f"/setup/users/{ana.pk}/revoke-tokens/", {"token": elsewhere.pk}, follow=True)
    assert "does not exist" in wrong.content.decode()
    elsewhere.refresh_from_db()
    assert elsewhere.revoked_at is None


# Your sign-in

@pytest.mark.parametrize("who", ["ana", "admin1"])
def test_everyone_changes_their_own_password_and_stays_signed_in(who, ana, admin_user):
    if who == "admin1":
        admin_user.set_password(PASSWORD)
        admin_user.save()
    browser, other = sign_in(who), sign_in(who)
    page = browser.get("/me/")
    assert page.status_code == 200 and 'data-testid="two-factor-card"' in page.content.decode()
    wrong = browser.post("/me/password/", {"old_password": "not-my-password", "new_password": "Another-long-one-9",
                                           "new_password_again": "Another-long-one-9"})
    assert wrong.status_code == 400 and "Your current password is not right." in wrong.content.decode()
    short = browser.post("/me/password/", {"old_password": PASSWORD, "new_password": SHORT,
                                           "new_password_again": SHORT})
    assert short.status_code == 400 and TOO_SHORT in short.content.decode()

    done = browser.post("/me/password/", {"old_password": PASSWORD, "new_password": "Another-long-one-9",
                                          "new_password_again": "Another-long-one-9"})
    assert done.status_code == 302 and signed_in(browser)
    assert not signed_in(other)  # the other session had the old password
    entry = entries("password_changed")[0]
    assert entry.actor_name == who and entry.after == {"password": "changed", "must_change_password": False}
    if who == "ana":  # the session, under the new key the password change gave it, still ends with a role change
        users.set_role(ana, "administrators")
        assert not signed_in(browser)


def test_my_api_tokens_are_named_shown_once_used_and_revoked(ana, frozen_today, django_user_model):
    browser = sign_in()
    expires = str(frozen_today + timedelta(days=10))
    made = browser.post("/me/tokens/", {"name": "  billing export ", "expires": expires})
    assert made.status_code == 302
    page = browser.get("/me/tokens/")
    html = page.content.decode()
    key = html.split('user-select-all text-break">')[1].split("<")[0]
    assert "billing export" in html and "no-store" in page["Cache-Control"]
    assert 'data-testid="new-token"' not in browser.get("/me/tokens/").content.decode()  # shown once

    assert api_with(key).get("/api/v1/").status_code == 200
    token = ApiToken.objects.get(user=ana)
    assert token.name == "billing export" and token.last_used_at is not None
    last_used = timezone.localtime(token.last_used_at).strftime("%Y-%m-%d %H:%M")
    assert last_used in browser.get("/me/tokens/").content.decode()

    past = browser.post("/me/tokens/", {"name": "old", "expires": str(today() - timedelta(days=1))})
    assert past.status_code == 400 and "Expires on must be after today" in past.content.decode()
    assert browser.post("/me/tokens/", {"name": "billing export"}).status_code == 400  # the name is taken
    someone_elses, _key = make_token(django_user_model.objects.create_user("zed", "", PASSWORD), name="z")
    refused = browser.post("/me/tokens/revoke/", {"token": someone_elses.pk}, follow=True)
    assert "does not exist" in refused.content.decode()
    someone_elses.refresh_from_db()
    assert someone_elses.revoked_at is None

    browser.post("/me/tokens/revoke/", {"token": token.pk})
    assert api_with(key).get("/api/v1/").status_code == 401
    assert "Revoked" in browser.get("/me/tokens/").content.decode()
    created, revoked = entries("token_created")[0], entries("token_revoked")[0]
    assert (created.object_type, created.object_id, created.actor_name) == ("API token", token.pk, "ana")
    assert created.after["name"] == "billing export" and key not in str(created.after)
    assert (revoked.object_id, revoked.before) == (token.pk, {"revoked_at": None})


def test_support_and_administrators_have_my_account_and_others_do_not(client, support_client, django_user_model):
    assert support_client.get("/me/").status_code == 200
    assert support_client.get("/me/tokens/").status_code == 200
    assert support_client.get("/me/password/").status_code == 200
    client.logout()
    assert client.get("/me/")["Location"].startswith("/login/")
    nobody = Client()
    nobody.force_login(django_user_model.objects.create_user("norole", "", PASSWORD))
    assert nobody.get("/me/").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_administrators_demoting_each_other_at_once_leave_one(django_user_model):
    from tests.concurrency import run_at_once

    both = []
    for name in ("ada", "bob"):
        user = django_user_model.objects.create_user(name, "", PASSWORD)
        user.groups.add(Group.objects.get(name="Administrators"))
        both.append(user)
    ada, bob = both
    results = run_at_once(lambda: users.set_role(ada, "support"), lambda: users.deactivate(bob))
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and "last active Administrator" in str(refused[0]), results
    assert users._active_administrators().count() == 1
