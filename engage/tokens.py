"""API tokens (SPEC §1): named, may expire, record their last use, revocable; only a key's SHA-256 is kept.

`Authorization: Token <key>` is checked by ApiTokenAuthentication. A wrong, expired or revoked token answers
401; an address that sends more wrong tokens than ENGAGE_API_BAD_TOKEN_RATE allows answers 429 (with
Retry-After) before the token is even looked up, so guessing keys costs the guesser time, not us queries."""

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from .client_address import client_address

# engage.models is imported inside the functions: DRF reads this module's class while engage.models loads
# (engage.errors imports DRF's views), so a module-level import would be circular.

# A token's last use is written at most this often (one UPDATE a minute, not one per request).
LAST_USE_PRECISION = timedelta(minutes=1)
PREFIX_CHARS = 8


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """40 random hexadecimal characters (160 bits), the shape API clients already expect."""
    return secrets.token_hex(20)


def make_token(user, *, name: str, expires_at=None, key: str | None = None) -> tuple:
    """A token row and its key (shown once). Callers audit it (engage.users.create_token)."""
    from .models import ApiToken

    key = key or new_key()
    token = ApiToken.objects.create(
        user=user, name=name, digest=digest(key), prefix=key[:PREFIX_CHARS], expires_at=expires_at
    )
    return token, key


def usable_q(now=None, *, through: str = ""):
    """The condition of a token that still opens the API: not revoked, not expired (`through` reaches the
    tokens from another model: "api_tokens__" from users)."""
    now = now or timezone.now()
    return Q(**{f"{through}revoked_at__isnull": True}) & (
        Q(**{f"{through}expires_at__isnull": True}) | Q(**{f"{through}expires_at__gt": now})
    )


def usable(tokens):
    """Tokens that still open the API: not revoked, not expired."""
    return tokens.filter(usable_q())


class TokenRateThrottle(UserRateThrottle):
    """ENGAGE_API_RATE for each token on its own (a user's two programs do not share one allowance); for
    the session, the user."""

    def get_cache_key(self, request, view):
        token_id = getattr(request.auth, "pk", None)
        if token_id is not None and request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": f"token-{token_id}"}
        return super().get_cache_key(request, view)


class BadTokenThrottle(SimpleRateThrottle):
    """Wrong tokens per client address (ENGAGE_API_BAD_TOKEN_RATE, the "bad_token" rate)."""

    scope = "bad_token"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}

    def over_limit(self, request) -> bool:
        """Whether this address has used up its wrong tries (does not count one)."""
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def count_failure(self, request) -> None:
        self.over_limit(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        throttle = BadTokenThrottle()
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.split(maxsplit=1)[:1] == [self.keyword] and throttle.over_limit(request):
            raise exceptions.Throttled(throttle.wait(), detail="Too many wrong API tokens from this address.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.count_failure(request)
            raise

    def authenticate_credentials(self, key):
        from .models import ApiToken

        token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
