"""Handing work to Celery from a request or a pass (SPEC §6: the broker never decides a request).

The work itself is already a row (a provisioning job, an outbox message) committed with the change that
caused it; handing it over only saves waiting for the next relay. So a hand-over uses its own short
timeouts (half a second to connect or to answer, no retries), never raises, and after a failure the
process stops trying for a few seconds: while Redis is down or hangs, requests pay no broker time at
all and the relay on beat's schedule sends what was left.
"""

import logging
import time

from celery import current_app

logger = logging.getLogger(__name__)

TIMEOUT = 0.5  # seconds, to connect and to read an answer
QUICK_OPTIONS = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT, "max_retries": 0}
PAUSE_AFTER_FAILURE = 15.0  # seconds without trying, once the broker failed

_down_until = 0.0


def send(task, *args, queue: str | None = None) -> bool:
    """Queue `task(*args)` (on `queue`, else the task's default); False (logged) when the broker is down, hung or
    recently failed."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    try:
        with current_app.connection_for_write(connect_timeout=TIMEOUT, transport_options=QUICK_OPTIONS) as conn:
            task.apply_async(args=args, connection=conn, retry=False, queue=queue)
    except Exception as exc:  # refused, timed out, anything: the row waits for the relay
        _down_until = time.monotonic() + PAUSE_AFTER_FAILURE
        logger.warning("Broker unavailable (%s: %s); %s%r is left to the relay.", type(exc).__name__, exc,
                       task.name, args)
        return False
    return True


def reset() -> None:
    """Forget a recent failure (tests; the relay after the broker answered)."""
    global _down_until
    _down_until = 0.0
