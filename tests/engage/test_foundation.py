"""The base: sign-in, roles, layout, error pages, settings modes, the API root and its schema."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_every_page_needs_a_signed_in_user(client):
    response = client.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/accounts/")


def test_a_wrong_password_shows_the_form_again_with_an_error(client, admin_user):
    response = client.post("/login/", {"username": "admin1", "password": "wrong"})
    assert response.status_code == 200
    assert "Your user name and password didn&#x27;t match." in response.content.decode()


def test_sign_in_lands_on_the_accounts_list_with_the_layout(client, admin_user):
    response = client.post("/login/", {"username": "admin1", "password": "admin-pass-123"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/"
    assert "Account Statistics" in page and ">Setup<" in page and "admin1" in page
    assert "/static/bootstrap/css/bootstrap.min.css" in page and "/static/django_htmx/htmx-2.min.js" in page
    assert "cdn" not in page.lower()


def test_support_sees_no_setup_and_gets_403_there(support_client):
    assert ">Setup<" not in support_client.get("/accounts/").content.decode()
    response = support_client.get("/setup/")
    assert response.status_code == 403
    assert "Setup is for Administrators" in response.content.decode()


def test_a_user_without_a_role_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x-pass-12345"))
    assert client.get("/accounts/").status_code == 403


def test_unknown_url_is_a_404_page_in_the_layout(admin_client, settings):
    settings.DEBUG = False
    response = admin_client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode() and "Account Statistics" in response.content.decode()


def test_static_assets_come_from_installed_packages(admin_client):
    from django.contrib.staticfiles import finders

    assert finders.find("bootstrap/css/bootstrap.min.css")
    assert finders.find("django_htmx/htmx-2.min.js")


def test_roles_exist_with_permissions():
    from django.contrib.auth.models import Group

    admins, support = Group.objects.get(name="Administrators"), Group.objects.get(name="Support")
    assert admins.permissions.filter(codename="delete_accountstatustype").exists()
    assert support.permissions.filter(codename="view_accountstatustype").exists()
    assert not support.permissions.filter(codename="change_accountstatustype").exists()


def test_api_root_needs_authentication_and_accepts_a_token(client, admin_user):
    import io

    assert client.get("/api/v1/").status_code == 401
    out = io.StringIO()
    call_command("api_token", "admin1", "--name", "test", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip()
    response = client.get("/api/v1/status-types/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["results"]} >= {"Active", "Cancelled", "Suspended", "Prospect"}


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/accounts/{account_id}/status-changes/" in (tmp_path / "schema.yml").read_text()


def test_api_docs_group_operations_by_resource_each_with_a_summary(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert [t["name"] for t in schema["tags"]] == [
        "Accounts", "Status changes", "Bulk status changes", "Billing", "Provisioning", "Statistics",
        "Status types", "Status reasons", "Collections",
    ]
    assert {op["tags"][0] for _path, _method, op in operations} == {t["name"] for t in schema["tags"]}
    assert [f"{method} {path}" for path, method, op in operations if not op.get("summary")] == []
    tags = {(method, path): op["tags"] for path, method, op in operations}
    assert tags[("post", "/api/v1/accounts/{account_id}/status-changes/preview/")] == ["Status changes"]
    assert tags[("get", "/api/v1/accounts/{account_id}/charges/")] == ["Billing"]
    assert tags[("delete", "/api/v1/status-changes/{id}/")] == ["Status changes"]
    assert tags[("get", "/api/v1/collections/dry-run/")] == ["Collections"]
    assert tags[("get", "/api/v1/statistics/aging/")] == ["Statistics"]
    description = schema["info"]["description"]
    assert "[← Back to Engage](/accounts/)" in description
    assert "Authorization: Token <key>" in description and "manage.py api_token" in description
    assert "/me/tokens/" in description and "drf_create_token" not in description


def test_schema_and_docs_pages_are_served(admin_client):
    assert admin_client.get("/api/schema/").status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200 and "swagger" in docs.content.decode().lower()


def _settings_process(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}, **env},
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_process({"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_passes_the_deploy_checks():
    result = _settings_process(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": "k" * 20 + "Zx9!q#Lm2$vB7@nW4%tR8^yU1&iO5*pA3(sD6)fG0",
            "DJANGO_ALLOWED_HOSTS": "engage.example.com",
        }
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _database_setting(env) -> dict:
    code = ("import django, json; django.setup(); from django.conf import settings; d = settings.DATABASES['default'];"
            " print(json.dumps({k: d.get(k) for k in ('CONN_MAX_AGE', 'CONN_HEALTH_CHECKS')}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={
        **os.environ, "DJANGO_SETTINGS_MODULE": "engage.settings", "DATABASE_URL": "postgres://u@db:5432/engage",
        **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_keeps_its_database_connections_and_development_closes_them():
    production = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "k9-Xq2Lm7Zp4Rw" * 4,
                  "DJANGO_ALLOWED_HOSTS": "e.example"}
    assert _database_setting(production) == {"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}
    assert _database_setting({**production, "DATABASE_CONN_MAX_AGE": "60"})["CONN_MAX_AGE"] == 60
    assert _database_setting({"DJANGO_ENV": "development"})["CONN_MAX_AGE"] == 0


def test_old_pass_records_are_pruned_but_the_last_success_of_each_pass_stays():
    from datetime import timedelta

    from django.utils import timezone

    from engage.models import PassRun
    from engage.pass_runs import prune_pass_runs

    old = timezone.now() - timedelta(days=40)
    last_billing = PassRun.objects.create(name="billing", as_of=old.date(), succeeded=True)
    for _ in range(3):
        PassRun.objects.create(name="apply_status_changes", as_of=old.date(), succeeded=True)
    failed = PassRun.objects.create(name="billing", as_of=old.date(), succeeded=False)
    recent = PassRun.objects.create(name="apply_status_changes", as_of=timezone.localdate(), succeeded=True)
    PassRun.objects.exclude(pk=recent.pk).update(started_at=old)
    assert prune_pass_runs(keep_days=30) == 4
    assert set(PassRun.objects.values_list("pk", flat=True)) == {last_billing.pk, recent.pk}
    assert not PassRun.objects.filter(pk=failed.pk).exists()


def test_the_tests_hash_passwords_fast_and_production_keeps_djangos_hasher(settings):
    from django.conf import global_settings

    import engage.settings as configured

    assert getattr(configured, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)[0] == (
        "django.contrib.auth.hashers.PBKDF2PasswordHasher")
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests/conftest.py
