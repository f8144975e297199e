"""Shared fixtures and the service markers.

Tests that need PostgreSQL, Redis, a real Celery worker or Chromium carry a marker and skip with a
stated reason when that is absent; `--require-services` turns every such skip into a failure.
"""

import os
import socket
from datetime import date, datetime, time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses that unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# The business day of every test that asks for `frozen_today`: the code's today() and the test's own dates agree,
# whatever day and hour the suite runs (a run across midnight included).
TEST_TODAY = date(2031, 5, 14)
ARTIFACTS = Path(os.environ.get("ENGAGE_TEST_ARTIFACTS", "test-results"))


def pytest_addoption(parser):
    parser.addoption(
        "--require-services", action="store_true", default=False,
        help="Fail, instead of skipping, tests whose PostgreSQL, Redis, worker or Chromium is absent.",
    )


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _missing(marker: str) -> str | None:
    from django.conf import settings
    from django.db import connection

    if marker == "postgres":
        if connection.vendor != "postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    elif marker in ("redis", "celery_worker"):
        broker = settings.CELERY_BROKER_URL
        if not broker.startswith("redis://"):
            return "needs Redis: set CELERY_BROKER_URL=redis://..."
        if not _reachable(broker):
            return f"Redis at {broker} does not answer"
    elif marker == "browser":
        if not Path(CHROMIUM).exists():
            return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return "needs Playwright for Python"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark the tests that commit for real (a transactional database, a live server): when one ends, pytest-django
    empties every table, so in one process they run after the others (pytest-django orders them last). CI runs
    the others on both cores (pytest-xdist, `-m "not transactional"`) and these after, in one process."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses = set(getattr(item, "fixturenames", ()))
        if (marker and marker.kwargs.get("transaction")) or uses & {"transactional_db", "live_server"}:
            item.add_marker(pytest.mark.transactional)


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "celery_worker", "browser"):
        if item.get_closest_marker(marker):
            why = _missing(marker)
            if why:
                if item.config.getoption("--require-services"):
                    pytest.fail(f"--require-services: {why}")
                pytest.skip(why)


@pytest.fixture(autouse=True)
def _settings_for_tests(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from engage.celery import app

    app.conf.task_always_eager = True
    from engage import broker

    broker.reset()  # a broker failure remembered by an earlier test must not pause this one
    from django.core.cache import cache

    cache.clear()  # the API's request counters: an earlier test's requests must not throttle this one
    yield
    app.conf.task_always_eager = False
    broker.reset()


@pytest.fixture
def broker_down(monkeypatch):
    """Every hand-over to the broker fails as when Redis refuses the connection."""
    from celery.app.task import Task

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(Task, "apply_async", refused)


@pytest.fixture
def admin_user(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("admin1", "admin1@example.com", "admin-pass-123")
    user.groups.add(Group.objects.get(name="Administrators"))
    return user


@pytest.fixture
def support_user(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("support1", "support1@example.com", "support-pass-123")
    user.groups.add(Group.objects.get(name="Support"))
    return user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def api_admin(admin_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def api_support(support_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(support_user)
    return api


@pytest.fixture
def browser_page(request):
    """A Playwright page in Debian's Chromium; the screenshot folder is test-results/."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


@pytest.fixture
def frozen_today(time_machine, settings):
    """The clock at noon of TEST_TODAY in TIME_ZONE, ticking from there (so a test never crosses midnight);
    every thread of the test sees it. Not for tests whose subprocesses read the clock."""
    time_machine.move_to(datetime.combine(TEST_TODAY, time(12, 0), tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=True)
    return TEST_TODAY


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """Tests hash passwords with a fast hasher (sign-ins took seconds each with PBKDF2's 1,000,000 rounds);
    production keeps Django's default (tests/engage/test_operations.py checks that)."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers

    original = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    yield
    settings.PASSWORD_HASHERS = original
    get_hashers.cache_clear()
