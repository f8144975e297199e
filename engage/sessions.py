"""Sessions (SPEC §1): each ends ENGAGE_SESSION_IDLE after its last request and ENGAGE_SESSION_MAX_AGE after
its sign-in; a user's sessions all end when an Administrator changes their role, deactivates them or resets
their password (end_sessions). Administrators must enrol and prove a second factor when
ENGAGE_REQUIRE_TWO_FACTOR is on, and a user whose password an Administrator set chooses their own first.

The middleware costs no query on an ordinary request: the times live in the session itself, and the time
of the last request is written back at most once a minute."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import SignedInSession, UserAccess
from .roles import is_administrator

SIGNED_IN_AT = "engage_signed_in_at"
SEEN_AT = "engage_seen_at"
MUST_CHANGE_PASSWORD = "engage_must_change_password"
# The last request's time is written back when it is older than this (one session write a minute at most).
SEEN_PRECISION = 60
# Pages a session may reach while it owes a new password or a second factor.
OPEN_PATHS = ("/logout/", "/login/", "/static/", "/favicon.ico", "/health/")


def started(request, user) -> None:
    """After login(): the session's clock starts, and it is recorded as the user's."""
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    access = UserAccess.objects.filter(user=user).first()
    request.session[MUST_CHANGE_PASSWORD] = bool(access and access.must_change_password)
    request.session.save()  # the key the record names
    SignedInSession.objects.update_or_create(
        session_key=request.session.session_key, defaults={"user": user}
    )


def end_sessions(user) -> int:
    """Sign the user out everywhere: every session they signed in with is deleted."""
    store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    keys = list(SignedInSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    SignedInSession.objects.filter(user=user).delete()
    return len(keys)


def prune_signed_in_sessions() -> int:
    """Records of sessions older than the longest a session may last (they have ended)."""
    cutoff = timezone.now() - settings.ENGAGE_SESSION_MAX_AGE
    return SignedInSession.objects.filter(signed_in_at__lt=cutoff).delete()[0]


def password_chosen(request) -> None:
    """After the user changed their own password (update_session_auth_hash gave the session a new key): no new
    password is owed, and the session is recorded under its new key, so that end_sessions still finds it."""
    request.session[MUST_CHANGE_PASSWORD] = False
    request.session.save()
    SignedInSession.objects.update_or_create(
        session_key=request.session.session_key, defaults={"user": request.user}
    )


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is None or not request.user.is_authenticated:
            return self.get_response(request)
        ended = self._ended(session)
        if ended:
            logout(request)
            if request.path.startswith("/api/"):
                return self.get_response(request)  # answered as anyone signed out is: 401
            messages.info(request, ended)
            return redirect(f"{reverse('login')}?next={request.get_full_path()}")
        owed = self._owed(request)
        if owed and not request.path.startswith(OPEN_PATHS) and request.path != owed[0]:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": owed[1]}, status=403)
            return redirect(owed[0])
        return self.get_response(request)

    @staticmethod
    def _ended(session) -> str | None:
        signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
        if signed_in is None or seen is None:
            return None  # a session made outside the sign-in page (a test's force_login): no clock kept
        now = time.time()
        if now - seen >= settings.ENGAGE_SESSION_IDLE.total_seconds():
            minutes = int(settings.ENGAGE_SESSION_IDLE.total_seconds() // 60)
            return f"You were signed out after {minutes} minutes without activity. Please sign in again."
        if now - signed_in >= settings.ENGAGE_SESSION_MAX_AGE.total_seconds():
            hours = int(settings.ENGAGE_SESSION_MAX_AGE.total_seconds() // 3600)
            return f"Sessions last at most {hours} hours. Please sign in again."
        if now - seen >= SEEN_PRECISION:
            session[SEEN_AT] = now
        return None

    @staticmethod
    def _owed(request) -> tuple[str, str] | None:
        """(the page to go to, why) when the session must first set a password or a second factor."""
        if request.session.get(MUST_CHANGE_PASSWORD):
            return reverse("me-password"), "Choose a new password first (an Administrator set yours)."
        if settings.ENGAGE_REQUIRE_TWO_FACTOR and is_administrator(request.user) and not request.user.is_verified():
            return reverse("two-factor"), "Administrators must set up two-factor sign-in first."
        return None
