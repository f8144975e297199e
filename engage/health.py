"""Health endpoints for the orchestrator, built from django-health-check's checks.

/health/live/  the process answers requests (no dependency is consulted, so a database outage does
               not get every web container restarted);
/health/ready/ the database answers and so does the broker (Redis), so the container can take traffic.
Both answer 200 when healthy and 503 with the failing check named when not (?format=json or text).
"""

from django.conf import settings
from health_check.checks import Database
from health_check.contrib.redis import Redis
from health_check.views import HealthCheckView
from redis.asyncio import Redis as RedisClient


def readiness_checks() -> list:
    checks: list = [Database]
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        checks.append((Redis, {"client_factory": lambda: RedisClient.from_url(url, socket_timeout=2)}))
    return checks


class ProbeView(HealthCheckView):
    async def dispatch(self, request, *args, **kwargs):
        response = await super().dispatch(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503  # a dependency is unavailable; nothing failed in this request
        return response


class ReadinessView(ProbeView):
    def get_checks(self):
        self.checks = readiness_checks()  # read per request: settings may differ between processes and tests
        return super().get_checks()


live = ProbeView.as_view(checks=[])
ready = ReadinessView.as_view()
