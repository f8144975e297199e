"""The client's address, for sign-in lock-outs and the audit log. Behind ENGAGE_TRUSTED_PROXIES reverse
proxies the address is the one the outermost of them put in X-Forwarded-For (what a client writes there
itself is never believed); with none, it is REMOTE_ADDR."""

from django.conf import settings


def client_address(request) -> str | None:
    proxies = settings.ENGAGE_TRUSTED_PROXIES
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
