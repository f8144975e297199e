"""The API fuzzed from its own OpenAPI schema (schemathesis), as an Administrator and as Support, against
PostgreSQL: no answer is a 5xx, and every answer is one the schema documents (status code, content type,
body). SPEC §9: never a 500 for bad input."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.accounts.factories import make_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXAMPLES = 12  # per operation and role; with the explicit and method variants about 2,300 requests in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REQUESTS: dict[str, int] = {}
ANSWERS: dict[int, int] = {}


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_schema())
schema.app = WSGIHandler()


@pytest.fixture
def api_world(monkeypatch, admin_user, support_user):
    """Real objects for the ids schemathesis tries, no throttling, and the test's one transaction kept open
    across the WSGI calls (Django closes the connection at each request's start and end otherwise)."""
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": None})
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    for _ in range(3):
        make_account()
    yield {
        "admin": Token.objects.create(user=admin_user).key,
        "support": Token.objects.create(user=support_user).key,
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


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
    REQUESTS[role] = REQUESTS.get(role, 0) + 1
    response = case.call_and_validate(headers={"Authorization": f"Token {api_world[role]}"}, checks=CHECKS)
    ANSWERS[response.status_code] = ANSWERS.get(response.status_code, 0) + 1


def test_the_fuzzing_made_enough_requests():
    """Runs after the fuzzing in this module (pytest keeps file order): at least 1,000 requests in all."""
    if not REQUESTS:
        pytest.skip("the fuzzing did not run in this session (select the whole module)")
    print(f"fuzzing: {len(schema.get_all_operations and list(schema.get_all_operations()))} operations, "
          f"requests {REQUESTS}, answers {dict(sorted(ANSWERS.items()))}")
    assert sum(REQUESTS.values()) >= 1000, REQUESTS
    assert not any(code >= 500 for code in ANSWERS), ANSWERS
