"""The Content-Security-Policy in Chromium: every main page loads, works and looks right with no
violation (no inline script, event handler or style attribute; the chart's and Swagger UI's inline
<style> carry the nonce), and every page and htmx answer carries the header."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from reporting.statistics import record_snapshot, snapshot_chart
from statuses.colours import chart_hex
from statuses.rules import BackendStatus
from tests.browser import login

from ..accounts.factories import give_package, make_account

HEADER = "content-security-policy"
SCREENSHOTS = Path("/tmp")

# Runs in every document before its own scripts; an init script is not subject to the page's CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation(`${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
    + ` (${e.sourceFile}:${e.lineNumber}) ${e.sample}`);
}, true);
"""


def _watch(page, live_server) -> tuple[list[str], list[str], list[str]]:
    """(violations, documents and htmx answers without the header, every such answer: "GET /path" or
    "htmx POST /path")."""
    violations, unguarded, seen = [], [], []
    page.expose_function("reportCspViolation", lambda text: violations.append(text))
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def check(response):
        request = response.request
        htmx = request.headers.get("hx-request") == "true"
        if response.url.startswith(live_server.url) and (request.resource_type == "document" or htmx):
            seen.append(f"{'htmx ' if htmx else ''}{request.method} {response.url.removeprefix(live_server.url)}")
            if HEADER not in response.headers:
                unguarded.append(response.url)

    page.on("response", check)
    return violations, unguarded, seen


def _visit(page, url: str, heading: str):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert heading in page.locator("h1").first.inner_text()


def _computed(locator, prop: str) -> str:
    return locator.evaluate(f"el => getComputedStyle(el).getPropertyValue('{prop}')")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_main_page_keeps_to_the_content_security_policy(live_server, browser_page, admin_user):
    today = timezone.localdate()
    account = make_account(bill_day=1, name="Grace Hopper", email="grace@example.com")
    give_package(account, price="31.00", start=today - timedelta(days=10), next_bill=today + timedelta(days=20),
                 name="Fibre 100")
    for i in range(3):
        make_account(name=f"Customer {i}", email=f"c{i}@example.com")
    record_snapshot(day=today - timedelta(days=1))
    record_snapshot(day=today)
    page = browser_page
    violations, unguarded, seen = _watch(page, live_server)
    base = live_server.url

    _visit(page, f"{base}/login/", "Sign in")
    login(page, live_server, "admin1", "admin-pass-123")
    assert page.url.endswith("/accounts/")
    assert "Grace Hopper" in page.locator("[data-testid=accounts-table]").inner_text()

    _visit(page, f"{base}/accounts/{account.pk}/", "Grace Hopper")
    page.click("text=Status")
    page.select_option("#id_status_type", label="Suspended")
    page.click("button:has-text('Save')")
    page.check("input[value=immediately_with_prorated_transaction]")
    page.select_option("#id_reason", label="Non-payment")
    page.click("button:has-text('Preview')")
    preview = page.locator("[data-testid=preview]")
    preview.wait_for()
    assert "Fibre 100" in preview.inner_text()
    page.click("button[name=save]")
    page.wait_for_url(f"**/accounts/{account.pk}/")
    assert "Suspended" in page.locator("[data-testid=account-status]").inner_text()

    _visit(page, f"{base}/accounts/{account.pk}/components/add/", "Add component")
    _visit(page, f"{base}/accounts/{account.pk}/tools/", "Tools")

    _visit(page, f"{base}/setup/", "Setup")
    setup_links = page.locator("main .list-group a").evaluate_all("links => links.map(a => a.pathname)")
    assert len(setup_links) >= 2
    for path in setup_links:  # each Setup list, and its Add page
        _visit(page, f"{base}{path}", "")
        add = page.locator("[data-testid=add]")
        if add.count():
            _visit(page, f"{base}{add.get_attribute('href')}", "Add ")

    # Select all, on a Setup list: every row ticks; one cleared row leaves it mixed; Delete asks first.
    _visit(page, f"{base}/setup/account-status-types/", "Account Status Types")
    rows = page.locator("#object-list-form input[name=pk]")
    select_all = page.locator("[data-testid=select-all]")
    assert rows.count() >= 4
    select_all.check()
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    rows.first.uncheck()
    assert select_all.evaluate("el => el.indeterminate") and not select_all.is_checked()
    select_all.check()
    assert select_all.evaluate("el => !el.indeterminate") and all(rows.nth(i).is_checked() for i in range(rows.count()))
    assert _computed(page.locator("th.select-column"), "width") == "40px"  # 2.5rem, from engage.css
    page.screenshot(path=str(SCREENSHOTS / "csp-setup-list.png"), full_page=True)
    select_all.uncheck()
    assert not any(rows.nth(i).is_checked() for i in range(rows.count()))
    rows.last.check()
    page.click("[data-testid=delete]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").count() == 1

    # The Users pages and Your sign-in: a user's page, a new token's key, the two-factor QR code.
    _visit(page, f"{base}/setup/users/{admin_user.pk}/", "admin1")
    _visit(page, f"{base}/me/", "Your sign-in")
    _visit(page, f"{base}/me/password/", "Change password")
    _visit(page, f"{base}/me/tokens/", "API tokens")
    page.fill("#id_name", "csp walk")
    page.click("[data-testid=create-token]")
    page.wait_for_load_state("networkidle")
    _visit(page, f"{base}/me/two-factor/", "Two-factor sign-in")
    page.click("button:has-text('Set up two-factor sign-in')")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=qr-code] svg").is_visible()

    # The chart is drawn with its own (nonce-carrying) styles: legend type size and colours, lines unfilled.
    _visit(page, f"{base}/statistics/", "Statistics")
    chart = page.locator("[data-testid=chart] svg")
    assert chart.is_visible() and chart.bounding_box()["height"] > 200
    assert _computed(page.locator("[data-testid=chart]"), "max-width") == "960px"
    legend = chart.locator(".legends .legend text").first
    assert _computed(legend, "font-size") == "13px"
    assert _computed(legend, "fill") == "rgb(33, 37, 41)"
    line = chart.locator(".series path.line").first
    assert _computed(line, "fill") == "none"
    assert _computed(line, "stroke") in {_rgb(chart_hex(s)) for s in BackendStatus}
    assert _computed(chart.locator("g.tooltip").first, "opacity") == "0"
    page.screenshot(path=str(SCREENSHOTS / "csp-statistics.png"), full_page=True)

    _visit(page, f"{base}/nothing-here/", "Page not found")

    page.goto(f"{base}/api/docs/")
    operations = page.locator(".opblock")
    operations.first.wait_for()
    assert operations.count() > 5 and page.locator(".swagger-ui .info .title").is_visible()
    assert _computed(page.locator("body"), "background-color") == "rgb(250, 250, 250)"  # the nonce'd <style>
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "csp-api-docs.png"))

    page.goto(f"{base}/accounts/")
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state("networkidle")
    _visit(page, f"{base}/login/", "Sign in")

    assert violations == []
    assert unguarded == []
    assert any(answer.startswith(f"htmx POST /accounts/{account.pk}/status/") for answer in seen)
    assert "GET /statistics/" in seen and "GET /api/docs/" in seen


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_lock_out_and_expired_form_pages_keep_to_the_policy(live_server, browser_page, support_user):
    page = browser_page
    violations, unguarded, _seen = _watch(page, live_server)
    for _ in range(settings.ENGAGE_LOGIN_DELAY_AFTER + 1):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "support1")
        page.fill("#id_password", "not-the-password")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
    slowed = page.locator("[data-testid=sign-in-error]").inner_text()
    assert "Too many failed sign-ins for this user name: wait" in slowed
    assert page.locator("#id_code").is_visible()  # a second factor gets through: the page asks for it
    assert page.locator("nav.navbar").is_visible()  # the site's own layout, styled from its static files
    page.screenshot(path=str(SCREENSHOTS / "csp-sign-in-slowed.png"))

    # A form sent without its CSRF cookie: Django's refusal, in the site's page rather than its inline-styled one.
    page.goto(f"{live_server.url}/login/")
    page.context.clear_cookies()
    page.fill("#id_username", "support1")
    page.fill("#id_password", "support-pass-123")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "The form could not be sent" in page.locator("h1").inner_text()
    assert _computed(page.locator("body"), "margin-top") == "48px"  # .error-page, from engage.css
    assert violations == []
    assert unguarded == []


@pytest.mark.django_db
def test_the_chart_svg_has_no_script_or_style_attribute_and_its_style_carries_the_nonce():
    today = timezone.localdate()
    make_account()
    record_snapshot(day=today)
    svg = snapshot_chart(start=today, end=today, nonce="n0nce+/=")
    styles = re.findall(r"<style\b[^>]*>", svg)
    assert styles and all('nonce="n0nce+/="' in tag for tag in styles)
    assert "<script" not in svg and not re.search(r"\sstyle=", svg)
    assert re.search(r'<g\b(?=[^>]*class="tooltip")(?=[^>]*opacity="0")', svg)  # was style="opacity: 0"


def test_no_template_has_inline_script_handler_or_style():
    """What the policy refuses, written into a template (an inline <style> must carry the nonce)."""
    refused = re.compile(
        r"""\sstyle\s*=|\son[a-z]+\s*=|<script\b(?![^>]*\bsrc=)|<style\b(?![^>]*\bnonce=)|javascript:""",
        re.IGNORECASE,
    )
    comment = re.compile(r"\{#.*?#\}")
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{n}: {line.strip()}"
        for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if refused.search(comment.sub("", line))
    ]
    assert found == []


def _rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(value[i:i + 2], 16) for i in (0, 2, 4)))
