"""The client's address, for the sign-in guard, the API's wrong-token throttle and the audit log (SPEC §1).

It comes only from the proxies the operator declares (ENGAGE_TRUSTED_PROXIES: addresses or networks). On a
connection from one of them, X-Forwarded-For is read from the right, skipping declared proxies: the first
address that is not one is the client's (what a client wrote further left is never believed). A connection
from anywhere else is the client itself, whatever headers it sends."""

from functools import lru_cache
from ipaddress import ip_address, ip_network

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(declared: tuple[str, ...]):
    return tuple(ip_network(item, strict=False) for item in declared)


def trusted_networks():
    """ENGAGE_TRUSTED_PROXIES as networks (settings checked each entry at start-up)."""
    return _networks(tuple(settings.ENGAGE_TRUSTED_PROXIES))


def _is_proxy(address: str, networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    networks = trusted_networks()
    if not networks or not remote or not _is_proxy(remote, networks):
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _is_proxy(address, networks):
            try:
                return str(ip_address(address))
            except ValueError:
                return remote  # a proxy passed on something that is no address: believe only the connection
    return remote
