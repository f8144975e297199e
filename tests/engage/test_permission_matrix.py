"""Who may do what (SPEC §1 and §9), checked for every named URL pattern, every role and every method.

The cases come from walking the URL resolver; the answers come from EXPECTED, a table written by hand.
A URL name that the resolver has and the table lacks fails the test, and so does a row whose URL is gone:
a new page or API view cannot be added without saying who may use it.

"Allowed" means the permission layer let the request through: not 401/403, not a redirect to a login
page, never 5xx; a method the view does not implement answers 405; a GET answers the row's status
(200 unless the row says otherwise). Writes go in with an empty body, so 400/404/409 are fine.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from accounts.bulk.services import bulk_change_run, bulk_change_submit
from accounts.engine import account_change_status
from billing.models import Payment
from dunning.steps import step_create
from engage.clock import today
from engage.tokens import make_token
from statuses.rules import ChangeOption
from tests.accounts.factories import give_package, make_account, reason, status_type
from tests.billing.factories import UsageRecordFactory
from tests.statuses.factories import StatusReasonFactory, StatusTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

ANONYMOUS, NO_GROUP, SUPPORT, ADMINISTRATORS = "anonymous", "no group", "Support", "Administrators"
ROLES = (ANONYMOUS, NO_GROUP, SUPPORT, ADMINISTRATORS)
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
READS = ("GET",)

# What a role meets at a URL.
LOGIN = "redirect to /login/?next="
UNAUTHENTICATED = "401 with WWW-Authenticate: Token"
FORBIDDEN = "403"
ALLOWED = "allowed"
READ_ONLY = "reads allowed, writes 403"
NOT_FOUND = "404"


@dataclass(frozen=True)
class Rule:
    access: dict[str, str]
    methods: tuple[str, ...] = READS  # what the view implements: any other method answers 405 to a role let in
    get: int = 200  # what a GET answers to a role let in


def page(*methods: str, get: int = 200, support: str = ALLOWED) -> Rule:
    """A signed-in page of Administrators and Support (SPEC §1)."""
    return Rule({ANONYMOUS: LOGIN, NO_GROUP: FORBIDDEN, SUPPORT: support, ADMINISTRATORS: ALLOWED}, methods, get)


def setup_page(*methods: str, get: int = 200) -> Rule:
    """Setup and the audit log: Administrators only; Support 403."""
    return page(*methods, get=get, support=FORBIDDEN)


def api(*methods: str, support: str = ALLOWED) -> Rule:
    """The API: token auth first, so an anonymous caller is told 401 (SPEC §9)."""
    return Rule({ANONYMOUS: UNAUTHENTICATED, NO_GROUP: FORBIDDEN, SUPPORT: support, ADMINISTRATORS: ALLOWED}, methods)


def setup_api(*methods: str) -> Rule:
    """Setup data through the API: Support reads, Administrators write (engage.permissions.AdminWritesStaffReads)."""
    return api(*methods, support=READ_ONLY)


def public(*methods: str, get: int = 200) -> Rule:
    return Rule(dict.fromkeys(ROLES, ALLOWED), methods, get)


EXPECTED: dict[str, Rule] = {
    # Pages (engage/urls.py)
    "home": page("GET", get=302),  # to the accounts list
    "login": public("GET", "POST"),
    "login-code": public("GET", "POST", get=302),  # without a right password first: back to the sign-in page
    "two-factor": page("GET", "POST"),  # each user's own
    "logout": Rule({ANONYMOUS: LOGIN, NO_GROUP: ALLOWED, SUPPORT: ALLOWED, ADMINISTRATORS: ALLOWED}, ("POST",)),
    "health-live": public("GET"),
    "health-ready": public("GET"),
    "favicon": public("GET", get=301),
    # Setup (SPEC §3): Administrators only
    "setup": setup_page("GET"),
    "lockouts": setup_page("GET", "POST"),
    "users": setup_page("GET"),  # Setup → Users (SPEC §1)
    "user-add": setup_page("GET", "POST"),
    "user-detail": setup_page("GET"),
    "user-role": setup_page("GET", "POST", get=302),  # a GET goes back to the user's page
    "user-deactivate": setup_page("GET", "POST", get=302),
    "user-reactivate": setup_page("GET", "POST", get=302),
    "user-reset-password": setup_page("GET", "POST", get=302),
    "user-revoke-tokens": setup_page("GET", "POST", get=302),
    # Your sign-in: each user's own password, API tokens and two factors
    "me": page("GET"),
    "me-password": page("GET", "POST"),
    "me-tokens": page("GET", "POST"),
    "me-token-revoke": page("GET", "POST", get=302),
    "statuses:type-list": setup_page("GET"),
    "statuses:type-add": setup_page("GET", "POST"),
    "statuses:type-edit": setup_page("GET", "POST"),
    "statuses:type-delete": setup_page("GET", "POST", get=302),  # GET goes back to the list
    "statuses:reason-list": setup_page("GET"),
    "statuses:reason-add": setup_page("GET", "POST"),
    "statuses:reason-edit": setup_page("GET", "POST"),
    "statuses:reason-delete": setup_page("GET", "POST", get=302),
    "dunning:step-list": setup_page("GET"),  # Collection Steps (SPEC §11)
    "dunning:step-add": setup_page("GET", "POST"),
    "dunning:step-edit": setup_page("GET", "POST"),
    "dunning:step-delete": setup_page("GET", "POST", get=302),
    "audit": setup_page("GET"),  # SPEC §1: "Administrators read it at /audit/"
    # Accounts, Overview, status changes, components, Tools, statistics: Administrators and Support
    "accounts:list": page("GET"),
    "accounts:export": page("GET"),  # the filtered list as CSV
    "accounts:bulk-status": page("GET", "POST"),  # bulk status change (SPEC §5): step 2 and the dry run
    "accounts:bulk-job": page("GET"),
    "accounts:bulk-progress": page("GET"),
    "accounts:bulk-save": page("POST"),
    "accounts:bulk-cancel": page("POST"),
    "accounts:bulk-skipped": page("GET"),
    "accounts:bulk-skipped-export": page("GET"),
    "accounts:overview": page("GET"),
    "accounts:status": page("GET", "POST"),
    "accounts:status-options": page("GET", "POST"),
    "accounts:component-add": page("GET", "POST"),
    "accounts:component-remove": page("GET", "POST"),  # GET: the confirmation naming the change
    "accounts:tools": page("GET", "POST"),
    "accounts:payment-add": page("GET", "POST"),  # SPEC §11: Support and Administrators record payments
    "accounts:payment-reverse": page("GET", "POST"),
    "dunning:dry-run": page("GET"),  # SPEC §11: the support desk sees what the collections pass will do
    "dunning:exemption": page("GET", "POST"),
    "reporting:statistics": page("GET"),
    # API (SPEC §9)
    "api-root": api("GET"),
    "status-type-list": setup_api("GET", "POST"),
    "status-type-detail": setup_api("GET", "PATCH", "DELETE"),
    "status-reason-list": setup_api("GET", "POST"),
    "status-reason-detail": setup_api("GET", "PATCH", "DELETE"),
    "collection-step-list": setup_api("GET", "POST"),
    "collection-step-detail": setup_api("GET", "PATCH", "DELETE"),
    "account-list": api("GET", "POST"),
    "account-detail": api("GET", "PATCH"),
    "account-status-changes": api("GET", "POST"),
    "account-status-change-preview": api("POST"),
    "status-change-detail": api("GET", "DELETE"),
    "bulk-status-changes": api("GET", "POST"),
    "bulk-status-change-detail": api("GET"),
    "bulk-status-change-save": api("POST"),
    "bulk-status-change-cancel": api("POST"),
    "bulk-status-change-skipped": api("GET"),
    "billing-packages": setup_api("GET", "POST"),
    "billing-user-packages": api("GET", "POST"),
    "billing-usage": api("GET", "POST"),
    "billing-charges": api("GET"),
    "billing-bill-account": api("POST"),
    "billing-payments": api("GET", "POST"),
    "collections-dry-run": api("GET"),
    "account-collections-exemption": api("GET", "POST"),
    "statistics-aging": api("GET"),  # POST records a payment or reverses one (SPEC §11)
    "billing-invoices": api("GET"),
    "account-provisioning": api("GET"),
    "statistics": api("GET"),
    "schema": api("GET"),
    "swagger-ui": api("GET"),
    "api-not-found": Rule(dict.fromkeys(ROLES, NOT_FOUND)),  # any other path under /api/: JSON 404 to anyone
    # Django's admin is off (ENGAGE_ADMIN_SITE): no admin route exists, so none has a row.
}
# Rows for pages being built now: checked when the URL exists, not reported stale while it does not.
NOT_YET_BUILT: set[str] = set()


# --- the cases: every named pattern of the resolver -------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # with its namespaces, as reverse() takes it
    params: tuple[str, ...]
    is_api: bool


def _params(entry) -> set[str]:
    return set(entry.pattern.regex.groupindex)  # path() and re_path() alike


def _walk(resolver, namespace: str = "", params: frozenset = frozenset(), prefix: str = ""):
    for entry in resolver.url_patterns:
        here = params | _params(entry)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            yield from _walk(entry, inner, here, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, tuple(sorted(here)), (prefix + str(entry.pattern)).lstrip("^").startswith("api/"))


def routes() -> list[Route]:
    return list(dict.fromkeys(_walk(get_resolver())))  # format-suffix twins of a route are routes of their own


def rule_for(name: str) -> Rule | None:
    return EXPECTED.get(name)


# --- the objects the path parameters name ---------------------------------------------------------------


@pytest.fixture
def world(django_user_model, admin_user, support_user):
    """One of everything a URL can name: an account (with a package sold, usage and a change pending in the
    future), a second account with its own pending change for the API's DELETE, and a status type and a
    reason that nothing uses, so an Administrator's DELETE really deletes them."""
    account = make_account(name="Matrix Customer", email="matrix@example.com")
    give_package(account)
    UsageRecordFactory(account=account)
    later = today() + timedelta(days=30)
    pending = account_change_status(account_id=account.pk, to_type=status_type("Suspended"),
                                    option=ChangeOption.SPECIFIC_DATE, effective_date=later,
                                    reason=reason("Non-payment")).change
    other = make_account(name="Other Customer", email="other@example.com")
    other_pending = account_change_status(account_id=other.pk, to_type=status_type("Suspended"),
                                          option=ChangeOption.SPECIFIC_DATE, effective_date=later,
                                          reason=reason("Non-payment")).change
    job, _created = bulk_change_submit(actor=admin_user, account_ids=[account.pk, other.pk],
                                       to_type=status_type("Cancelled"), option=ChangeOption.PERIOD_END,
                                       reason=reason("Non-payment"))
    bulk_change_run(job.pk)  # checked: Save and Cancel both apply
    payment = Payment.objects.create(account=account, amount=Decimal("10.00"), paid_on=today(), method="cash")
    spare_type = StatusTypeFactory(name="Matrix Spare Type")
    spare_reason = StatusReasonFactory(name="Matrix Spare Reason")
    spare_step = step_create(name="Matrix Spare Step", days_overdue=10, action="reminder", subject="Overdue",
                             body="Please pay {overdue_amount}.")
    no_group = django_user_model.objects.create_user("nogroup1", "nogroup1@example.com", "nogroup-pass-123")
    users = {NO_GROUP: no_group, SUPPORT: support_user, ADMINISTRATORS: admin_user}
    # The user the Users pages act on: never one of the callers (an empty POST must not deactivate them).
    spare_user = django_user_model.objects.create_user("spare1", "spare1@example.com", "spare-pass-123456")
    spare_user.groups.add(Group.objects.get(name="Support"))
    by_param = {
        "pk": account.pk, "account_id": account.pk, "type_pk": status_type("Cancelled").pk,
        "change_pk": pending.pk, "payment_pk": payment.pk, "format": "json",
    }
    by_route = {
        "statuses:type-edit": {"pk": spare_type.pk},
        "statuses:reason-edit": {"pk": spare_reason.pk},
        "status-type-detail": {"pk": spare_type.pk},
        "status-reason-detail": {"pk": spare_reason.pk},
        "dunning:step-edit": {"pk": spare_step.pk},
        "collection-step-detail": {"pk": spare_step.pk},
        "status-change-detail": {"pk": other_pending.pk},
        **{name: {"pk": spare_user.pk} for name in ("user-detail", "user-role", "user-deactivate",
                                                    "user-reactivate", "user-reset-password", "user-revoke-tokens")},
        **{name: {"pk": job.pk} for name in (
            "accounts:bulk-job", "accounts:bulk-progress", "accounts:bulk-save", "accounts:bulk-cancel",
            "accounts:bulk-skipped", "accounts:bulk-skipped-export", "bulk-status-change-detail",
            "bulk-status-change-save", "bulk-status-change-cancel", "bulk-status-change-skipped",
        )},
    }
    return {"users": users, "by_param": by_param, "by_route": by_route}


def url_of(route: Route, world) -> str:
    values = {**world["by_param"], **world["by_route"].get(route.name, {})}
    missing = [p for p in route.params if p not in values]
    assert not missing, f"no object for path parameter(s) {missing} of {route.name}: add one to the world fixture"
    return reverse(route.name, kwargs={p: values[p] for p in route.params})


# --- asking and judging ----------------------------------------------------------------------------------


class Caller:
    """Pages through django.test.Client (signed in again before each request: logout must not leak into the
    next one); the API through APIClient, Support with a real token, the others force-authenticated."""

    def __init__(self, role: str, user):
        self.user = user
        self.page = Client(raise_request_exception=False)  # a 500 is a mismatch to list, not a crash
        self.api = APIClient(raise_request_exception=False)
        if role == SUPPORT:
            self.api.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user, name='matrix')[1]}")
        elif user is not None:
            self.api.force_authenticate(user)

    def __call__(self, route: Route, url: str, method: str):
        if route.is_api:
            send = getattr(self.api, method.lower())
            return send(url, {}, format="json") if method in ("POST", "PATCH", "PUT") else send(url)
        if self.user is not None:
            self.page.force_login(self.user)
        send = getattr(self.page, method.lower())
        return send(url) if method in ("GET", "DELETE") else send(url, {})


def _redirected_to_login(response, login_url: str) -> bool:
    location = response.get("Location", "")
    return response.status_code in (301, 302) and location.startswith(login_url) and "next=" in location


def judge(rule: Rule, role: str, method: str, response) -> str | None:
    """Why this answer is wrong for this role, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    access = rule.access[role]
    if access == READ_ONLY:
        access = ALLOWED if method in READS else FORBIDDEN
    if access == LOGIN:
        ok = _redirected_to_login(response, "/login/")
    elif access == UNAUTHENTICATED:
        ok = status == 401 and response.get("WWW-Authenticate", "").startswith("Token")
    elif access in (FORBIDDEN, NOT_FOUND):
        # A method the view does not have may be refused as such before the role is asked: it reveals nothing.
        ok = status == int(access) or (status == 405 and method not in rule.methods)
    else:
        ok = None  # ALLOWED: judged below
    if ok is not None:
        return None if ok else f"wanted {access}, got {_shown(response)}"
    assert access == ALLOWED, access
    if status in (401, 403) or _redirected_to_login(response, "/login/"):
        return f"wanted it let through, got {_shown(response)}"
    if method not in rule.methods:
        return None if status == 405 else f"wanted 405 (not implemented), got {_shown(response)}"
    if method == "GET" and status != rule.get:
        return f"wanted {rule.get}, got {_shown(response)}"
    return None


def _shown(response) -> str:
    location = response.get("Location")
    return f"{response.status_code}" + (f" → {location}" if location else "")


# --- the tests -------------------------------------------------------------------------------------------


def test_every_url_name_has_a_row_and_every_row_a_url():
    names = {route.name for route in routes()}
    without_row = sorted(name for name in names if rule_for(name) is None)
    covered = {name.split(":")[0] + ":*" for name in names if ":" in name} | names
    stale = sorted(set(EXPECTED) - covered - NOT_YET_BUILT)
    assert not (without_row or stale), (
        f"URL names without a row in EXPECTED (say who may use them): {without_row}\n"
        f"rows in EXPECTED whose URL no longer exists: {stale}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, world, monkeypatch):
    # Support makes about 150 allowed API requests; no throttle should answer 429 here whatever ENGAGE_API_RATE is.
    # (UserRateThrottle copies the rates at import, so the setting alone would not reach it.)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": None})
    call = Caller(role, world["users"].get(role))
    cases = [(route, url_of(route, world)) for route in routes()]
    # Reads first, deletes last, so that every read still finds its objects.
    order = sorted(METHODS, key=lambda m: {"GET": 0, "DELETE": 2}.get(m, 1))
    mismatches = []
    for method in order:
        for route, url in cases:
            rule = rule_for(route.name)
            if rule is None:
                continue  # the test above names it
            wrong = judge(rule, role, method, call(route, url, method))
            if wrong:
                mismatches.append(f"{method:6} {url}  ({route.name}): {wrong}")
    size = f"{len(cases)} patterns × {len(METHODS)} methods for {role}"
    assert not mismatches, f"{len(mismatches)} of {size} answer otherwise than EXPECTED:\n" + "\n".join(mismatches)

