"""System checks: a provisioning configuration that cannot work is refused at start-up."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error

from .backends import available_backends
from .backends.webhook import safe_url


def check_provisioning_settings(app_configs=None, **kwargs):
    name = getattr(settings, "ENGAGE_PROVISIONING_BACKEND", "ledger")
    if name not in available_backends():
        return [
            Error(
                f"ENGAGE_PROVISIONING_BACKEND is {name!r}, which is not a provisioning backend.",
                hint=f"Use one of: {', '.join(available_backends())}.",
                id="provisioning.E001",
            )
        ]
    if name == "webhook":
        return _check_webhook()
    return []


def _check_webhook():
    errors = []
    url = settings.ENGAGE_WEBHOOK_URL
    problem = _url_problem(url)
    if problem:
        errors.append(
            Error(
                f"ENGAGE_WEBHOOK_URL {_shown(url)!r} {problem}.",
                hint="Set it to the receiver's address, e.g. https://provisioning.example.net/engage.",
                id="provisioning.E002",
            )
        )
    if not settings.ENGAGE_WEBHOOK_SECRET:
        errors.append(
            Error(
                "ENGAGE_WEBHOOK_SECRET is empty, so webhook requests could not be signed.",
                hint="Set a long random secret shared with the receiver, which checks X-Engage-Signature.",
                id="provisioning.E003",
            )
        )
    if not problem and getattr(settings, "PRODUCTION", False) and urlsplit(url).scheme != "https":
        errors.append(
            Error(
                f"ENGAGE_WEBHOOK_URL {safe_url(url)!r} is plain http:// in production: the signed requests and "
                "the receiver's answers would cross the network readable by anyone on the path.",
                hint="Use the receiver's https:// address (Engage checks its certificate).",
                id="provisioning.E005",
            )
        )
    timeout = settings.ENGAGE_WEBHOOK_TIMEOUT
    if not isinstance(timeout, int | float) or timeout <= 0:
        errors.append(
            Error(
                f"ENGAGE_WEBHOOK_TIMEOUT must be a positive number of seconds, not {timeout!r}.",
                id="provisioning.E004",
            )
        )
    return errors


def _shown(url) -> str:
    """The URL as a check may print it: never its credentials."""
    try:
        return safe_url(url)
    except (ValueError, TypeError, AttributeError):
        return "(not shown: it holds credentials)" if "@" in str(url) else str(url)


def _url_problem(url) -> str:
    if not isinstance(url, str) or not url.strip():
        return "is empty; the webhook backend needs a URL"
    if url != url.strip() or any(c.isspace() for c in url):
        return "contains white space"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        return f"is malformed ({exc})"
    if parts.scheme not in ("http", "https"):
        if not parts.scheme:
            return "has no scheme; it must start with http:// or https://"
        return f"must start with http:// or https:// (scheme {parts.scheme!r} is not allowed)"
    if not parts.hostname:
        return "has no host name"
    if port == 0:
        return "has port 0"
    return ""
