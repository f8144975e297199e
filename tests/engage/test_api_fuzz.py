"""The API fuzzed from its own OpenAPI schema (schemathesis), as an Administrator and as Support, against
PostgreSQL (SPEC §9): no answer is a 5xx; every answer is one the schema documents (status code, content type,
headers, body); data the schema forbids is refused (negative_data_rejection); and an operation that needs a
token refuses a request without one (ignored_auth). Each operation gets examples that follow the schema and
examples that break it (generation mode "all"), besides the coverage phase's edge values.

The fixture makes one of each kind of object the API answers about (a payment and its reversal, an invoice,
a pending change, a collection step, a bulk change …), so that the response checks read real bodies, not
only empty lists and 404s."""

import uuid
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import UserRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.bulk.services import bulk_change_submit
from accounts.engine import account_change_status
from billing import payments, services
from dunning.steps import step_create
from engage.clock import today
from engage.once import HEADER as ONCE_HEADER
from engage.tokens import make_token
from tests.accounts.factories import make_account, reason, status_type

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXAMPLES = 10  # generated per operation and role, beside the coverage phase's; about 5,600 requests in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, ignored_auth]
REQUESTS: dict[str, int] = {}
ANSWERS: dict[int, int] = {}
CONFIG = SchemathesisConfig.from_dict({
    "generation": {"mode": "all"},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
})


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)
schema.app = WSGIHandler()


def _one_of_each(admin_user) -> None:
    """An object of each kind the API answers about, made through the services as the product makes them."""
    on = today()
    accounts = [make_account(email=f"fuzz{i}@example.com") for i in range(3)]
    package = services.package_create(name="Fibre 100", price="30.00")
    services.user_package_create(account_id=accounts[0].pk, package=package, start_date=on - timedelta(days=40),
                                 today=on)
    services.usage_record_create(account_id=accounts[0].pk, amount="2.50", occurred_on=on, description="Calls",
                                 today=on)
    services.bill_account(account_id=accounts[0].pk, as_of=on)
    paid = payments.payment_record(account_id=accounts[0].pk, amount="10.00", paid_on=on, method="cash", today=on)
    payments.payment_reverse(payment_id=paid.pk, reason="Bounced", today=on)
    payments.payment_record(account_id=accounts[0].pk, amount="5.00", paid_on=on, method="card", today=on)
    account_change_status(account_id=accounts[1].pk, to_type=status_type("Suspended"), option="specific_date",
                          effective_date=on + timedelta(days=10), reason=reason("Non-payment"))
    step_create(name="Reminder after 7 days", days_overdue=7, min_amount="5.00", action="reminder",
                subject="Account {number}", body="{overdue_amount} is overdue.")
    bulk_change_submit(actor=admin_user, account_ids=[a.pk for a in accounts], to_type=status_type("Suspended"),
                       option="period_end", reason=reason("Non-payment"))


def _pools() -> dict[str, list[int]]:
    """The ids of each kind of object, by the first segment of the path that names one."""
    from accounts.models import Account, BulkStatusJob, StatusChange
    from dunning.models import CollectionStep
    from statuses.models import AccountStatusType, StatusReason

    models = {"accounts": Account, "status-changes": StatusChange, "bulk-status-changes": BulkStatusJob,
              "collection-steps": CollectionStep, "status-types": AccountStatusType, "status-reasons": StatusReason}
    return {segment: sorted(model.objects.values_list("pk", flat=True)) for segment, model in models.items()}


@pytest.fixture
def api_world(monkeypatch, admin_user, support_user):
    """Real objects for the ids schemathesis tries, no throttling, and the test's one transaction kept open
    across the WSGI calls (Django closes the connection at each request's start and end otherwise)."""
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": None})
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _one_of_each(admin_user)
    yield {
        "admin": make_token(admin_user, name="fuzz")[1],
        "support": make_token(support_user, name="fuzz")[1],
        "pools": _pools(),
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _fresh_once_key(case) -> None:
    """A well-formed Idempotency-Key is made new for each request: schemathesis sends the same few keys again
    with other bodies, which the API rightly answers 422 (a key used for another request), so the bodies
    would never be tried. A malformed key is kept (its 400 is part of what is checked)."""
    key = (case.headers or {}).get(ONCE_HEADER)
    if isinstance(key, str) and 1 <= len(key) <= 255 and all("\x21" <= ch <= "\x7e" for ch in key):
        case.headers[ONCE_HEADER] = uuid.uuid4().hex


def _no_empty_multipart_part(case) -> None:
    """Werkzeug, which makes the WSGI request, writes an empty multipart part without the line break before the
    next boundary, and Django then reads that field as absent, where schemathesis believes "" was sent. Such a
    body goes urlencoded instead, which the API reads field for field as it reads multipart."""
    if (case.media_type or "").startswith("multipart/") and isinstance(case.body, dict) and "" in [
            v for value in case.body.values() for v in (value if isinstance(value, list) else [value])]:
        case.media_type = "application/x-www-form-urlencoded"


def _real_ids(case, pools) -> None:
    """A whole-number id in the path is mapped onto an object that exists (most generated ids name none, and a
    404 says nothing of the answer's body); any other value (a negative case: "null", "0.5") is sent as it is."""
    segment = case.operation.path.removeprefix("/api/v1/").split("/")[0]
    for name, value in (case.path_parameters or {}).items():
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.isascii() and value.isdigit():
            number = int(value)  # the coverage phase writes its ids as the text they are sent as
        pool = pools["accounts" if name == "account_id" else segment]
        if number is not None and pool:
            case.path_parameters[name] = pool[number % len(pool)]


@pytest.mark.parametrize("role", ["admin", "support"])
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests on every run: a failure in CI is one anyone can run again
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_is_documented(case, role, api_world):
    _real_ids(case, api_world["pools"])
    _fresh_once_key(case)
    _no_empty_multipart_part(case)
    REQUESTS[role] = REQUESTS.get(role, 0) + 1
    response = case.call_and_validate(headers={"Authorization": f"Token {api_world[role]}"}, checks=CHECKS)
    ANSWERS[response.status_code] = ANSWERS.get(response.status_code, 0) + 1


def test_the_fuzzing_made_enough_requests():
    """Runs after the fuzzing in this module (pytest keeps file order): enough requests, and no 5xx."""
    if not REQUESTS:
        pytest.skip("the fuzzing did not run in this session (select the whole module)")
    print(f"fuzzing: {len(list(schema.get_all_operations()))} operations, "
          f"requests {REQUESTS}, answers {dict(sorted(ANSWERS.items()))}")
    assert sum(REQUESTS.values()) >= 3000, REQUESTS
    assert not any(code >= 500 for code in ANSWERS), ANSWERS
    assert sum(n for code, n in ANSWERS.items() if 200 <= code < 300) >= 500, ANSWERS  # bodies were tried
