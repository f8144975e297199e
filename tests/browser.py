"""Helpers for the Playwright tests."""

from pathlib import Path

from tests.conftest import ARTIFACTS


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, live_server, username: str, password: str):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")



SERIOUS = {"serious", "critical"}


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page (through axe-playwright-python, which ships it)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"] if v["impact"] in SERIOUS
    ]


def restore_installation_defaults():
    """A transactional test may start from emptied tables: put back the types and reasons of a new installation."""
    import importlib

    from django.apps import apps

    importlib.import_module("statuses.migrations.0002_defaults").create_defaults(apps, None)
    importlib.import_module("statuses.migrations.0003_reason_key").set_keys(apps, None)
    importlib.import_module("statuses.migrations.0004_credit_issued_reason").create_reason(apps, None)
