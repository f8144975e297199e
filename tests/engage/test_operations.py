"""Operations: real SMTP, the health endpoints and the container probe, the favicon, quiet 403s, and
the production files (Dockerfile, docker-compose.yml, .env.example) that no Docker engine here runs."""

import logging
import os
import socket
import subprocess
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from engage import probe

from ..accounts.factories import make_account, status_type

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def settings_in_a_process(env: dict, *names: str) -> list[str]:
    """The settings as a fresh process reads them from its environment."""
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'engage.settings'); django.setup();"
        "from django.conf import settings;"
        f"print('|'.join(str(getattr(settings, n, '')) for n in {list(names)!r}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env={**base, **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_email_url_configures_smtp_and_the_default_writes_files():
    backend, host, port, tls, user = settings_in_a_process(
        {"EMAIL_URL": "smtp+tls://engage%40example.net:s3cret@mail.example.net:587"},
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_HOST_USER",
    )
    assert (backend, host, port, tls, user) == (
        "django.core.mail.backends.smtp.EmailBackend", "mail.example.net", "587", "True", "engage@example.net"
    )
    backend, path = settings_in_a_process({}, "EMAIL_BACKEND", "EMAIL_FILE_PATH")
    assert backend == "django.core.mail.backends.filebased.EmailBackend" and path.endswith("mail")


def test_a_status_email_goes_through_a_real_smtp_server(settings, django_capture_on_commit_callbacks):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        backend, host, smtp_port = settings_in_a_process(
            {"EMAIL_URL": f"smtp://127.0.0.1:{port}"}, "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT"
        )
        settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = backend, host, int(smtp_port)
        settings.DEFAULT_FROM_EMAIL = "engage@example.net"
        from accounts.engine import account_change_status

        account = make_account(type_name="Prospect", name="Ana Silva", email="ana@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            account_change_status(
                account_id=account.pk, to_type=status_type("Active"),
                option="immediately_with_no_transaction", on=date(2031, 3, 1),
            )
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "ana@example.com" and mail["From"] == "engage@example.net"
    assert mail["Subject"] == f"Your account {account.number} is now Active"
    assert "Hello Ana Silva" in mail.get_payload()


def test_liveness_answers_anonymous_probes_without_asking_dependencies(client):
    response = client.get("/health/live/?format=json")
    assert response.status_code == 200
    assert response.json() == {}


def test_readiness_checks_the_database(client):
    response = client.get("/health/ready/?format=text")
    assert response.status_code == 200
    assert "Database" in response.content.decode() and "OK" in response.content.decode()


def test_readiness_is_503_naming_the_broker_when_redis_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/health/ready/?format=text")
    assert response.status_code == 503
    text = response.content.decode()
    assert "Database" in text and "Redis" in text and "unavailable" in text.lower()


@pytest.mark.redis
def test_readiness_checks_the_redis_broker(client):
    response = client.get("/health/ready/?format=text")
    assert response.status_code == 200
    assert "Redis" in response.content.decode()


def test_the_probe_sends_an_allowed_host_as_if_through_the_tls_proxy():
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.update(path=self.path, host=self.headers["Host"], proto=self.headers["X-Forwarded-Proto"])
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"Database: OK")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert probe.main(["probe", "ready", str(server.server_port)]) == 0
    finally:
        server.shutdown()
    assert seen == {"path": "/health/ready/?format=text", "host": "127.0.0.1", "proto": "https"}
    assert probe.main(["probe", "ready", str(free_port())]) == 1  # nothing answers: unhealthy
    assert probe.probe_host([".example.net", "engage.example.net"]) == "example.net"
    assert probe.probe_host(["*"]) == "localhost"


def test_the_favicon_is_served_and_linked(client, admin_client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/static/engage/favicon.svg")
    assert client.get(response["Location"]).status_code == 200
    assert 'rel="icon"' in admin_client.get("/accounts/").content.decode()


def test_a_403_is_logged_once_without_a_traceback(support_client, caplog):
    with caplog.at_level(logging.WARNING):
        assert support_client.get("/setup/").status_code == 403
    forbidden = [r for r in caplog.records if "Forbidden" in r.getMessage()]
    assert len(forbidden) == 1
    from engage.log_filters import ExpectedRefusalFilter

    ExpectedRefusalFilter().filter(forbidden[0])
    assert forbidden[0].exc_info is None
    formatted = logging.Formatter().format(forbidden[0])
    assert "Traceback" not in formatted and formatted == "Forbidden (Permission denied): /setup/"


def test_the_logging_config_sends_django_records_through_the_root_once(settings):
    assert settings.LOGGING["loggers"]["django"] == {"handlers": [], "level": "INFO", "propagate": True}
    assert "expected_refusals" in settings.LOGGING["handlers"]["console"]["filters"]


# The production files: checked by reading, since no Docker engine runs here.
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_restarts_services_waits_for_migrations_and_probes_health():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "engage.probe", "ready"]
    assert "migrate" not in " ".join(services["web"].get("command", []))


def test_compose_passes_every_documented_setting_through_and_no_password_is_written_in_it():
    app_env = compose()["services"]["web"]["environment"]
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration (environment variables)")[1].split("\n## ")[0]
    documented = {name for line in table.splitlines() if line.startswith("| `")
                  for name in (part.strip("` ") for part in line.split("|")[1].split(","))}
    unused_in_production = {"DJANGO_ENV", "DJANGO_DEBUG", "CELERY_TASK_ALWAYS_EAGER", "ENGAGE_VAR_DIR"}
    assert documented - unused_in_production <= set(app_env) | {"DATABASE_URL", "CELERY_BROKER_URL"}
    assert "${POSTGRES_PASSWORD:?" in app_env["DATABASE_URL"]
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD: engage" not in text and ":engage@" not in text
    example = (ROOT / ".env.example").read_text()
    for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "EMAIL_URL", "DJANGO_ALLOWED_HOSTS"):
        assert f"\n{name}=" in f"\n{example}", name


def test_the_image_installs_from_the_lock_and_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --locked --no-dev" in dockerfile and "--require-hashes" in dockerfile
    assert "\nUSER engage\n" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git", "test-results", ".env"} <= set(ignored)


def test_staff_user_creates_a_user_in_a_role_and_moves_or_deactivates_them(client, monkeypatch, admin_user):
    # admin_user: another active Administrator, so that ana, once one, may be deactivated
    import io

    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    monkeypatch.setattr("sys.stdin", io.StringIO("Tr0ub4dour&3-horse\n"))
    out = io.StringIO()
    call_command("staff_user", "ana", "--role", "support", "--email", "ana@example.net", "--password-stdin", stdout=out)
    assert out.getvalue().strip() == "Created ana: Support."
    signed_in = client.post("/login/", {"username": "ana", "password": "Tr0ub4dour&3-horse"})
    assert signed_in.status_code == 302
    assert client.get("/accounts/").status_code == 200 and client.get("/setup/").status_code == 403

    call_command("staff_user", "ana", "--role", "administrators", stdout=out)
    assert list(get_user_model().objects.get(username="ana").groups.values_list("name", flat=True)) == [
        "Administrators"
    ]
    assert client.get("/setup/")["Location"].startswith("/login/")  # the role change ended her session
    client.post("/login/", {"username": "ana", "password": "Tr0ub4dour&3-horse"})
    assert client.get("/setup/").status_code == 200

    call_command("staff_user", "ana", "--deactivate", stdout=out)
    client.logout()
    refused = client.post("/login/", {"username": "ana", "password": "Tr0ub4dour&3-horse"})
    assert refused.status_code == 200 and client.get("/accounts/").status_code == 302

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("staff_user", "ben", "--role", "support", "--password-stdin")
    assert not get_user_model().objects.filter(username="ben").exists()
    with pytest.raises(CommandError, match="needs --role"):
        call_command("staff_user", "carl")
