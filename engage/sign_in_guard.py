"""Failed sign-ins (SPEC §1): counted per user name across all addresses and per address across user names.

Per user name: after ENGAGE_LOGIN_DELAY_AFTER failures, each further try must wait 2, 4, 8 … seconds (at most
five minutes) after the last failure; at ENGAGE_LOGIN_FAILURE_LIMIT the user name is locked until an
Administrator (Setup → Locked sign-ins) or `manage.py sign_in_unlock` lifts it. Per address: after
ENGAGE_LOGIN_ADDRESS_LIMIT failures within ENGAGE_LOGIN_LOCKOUT, the address is locked for that long. A try
refused by a delay or a lock is not counted and its password is not even checked, so it tells nothing.

Neither lock can be turned against a user who has a second factor: with the right password and a code from
their authenticator (or a recovery code), they sign in whatever the counters say. Guessing codes is throttled
by django-otp itself (each device waits longer after each wrong code), and a code works once.

Why not django-axes: it keeps one failure limit for every key and no growing delay, and its lock cannot give
way to a second factor; the policy above is these few statements over one table with a row lock."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from .audit import audit_record
from .client_address import client_address
from .errors import DomainError
from .models import AuditAction, SignInGuard
from .two_factor import is_enrolled, verify

Kind = SignInGuard.Kind
MAX_DELAY = timedelta(minutes=5)
# A user name's failures are forgotten a day after the last one (unless it is locked).
USER_MEMORY = timedelta(days=1)
OBJECT_TYPE = "sign-in lock-out"


class SignInRefused(Exception):
    def __init__(self, message: str, *, retry_after: int | None = None, blocked: bool = False):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        # Refused by a delay or a lock (not by a wrong password): a second factor gets through.
        self.blocked = blocked


@dataclass
class SignedIn:
    user: object
    device: object | None  # the second factor proved with the password (a locked user name's way in)


def user_key(username: str) -> str:
    return (username or "").strip().lower()[:150]


def delay_after(failures: int) -> timedelta:
    """How long after the last failure the next try waits: nothing before the threshold, then doubling."""
    over = failures - settings.ENGAGE_LOGIN_DELAY_AFTER
    if over < 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (over + 1)), MAX_DELAY)


def _row(kind: str, key: str) -> SignInGuard:
    """The counter row, locked for this transaction (created on first failure's path)."""
    queryset = SignInGuard.objects.select_for_update()
    row = queryset.filter(kind=kind, key=key).first()
    if row is None:
        try:
            with transaction.atomic():
                SignInGuard.objects.create(kind=kind, key=key)
        except IntegrityError:
            pass  # created by a concurrent try: lock that one
        row = queryset.get(kind=kind, key=key)
    return row


def _forget_old(row: SignInGuard, now) -> None:
    """Counters decay: a user name's after a quiet day (unless locked), an address's after its window and lock."""
    if row.last_failure_at is None:
        return
    if row.kind == Kind.USER:
        if row.locked_at is None and now - row.last_failure_at >= USER_MEMORY:
            row.failures = 0
    elif now - row.last_failure_at >= settings.ENGAGE_LOGIN_LOCKOUT and (
        row.locked_at is None or now - row.locked_at >= settings.ENGAGE_LOGIN_LOCKOUT
    ):
        row.failures, row.locked_at = 0, None


def address_lock_ends(row: SignInGuard):
    return row.locked_at + settings.ENGAGE_LOGIN_LOCKOUT if row.locked_at else None


def _blocked(user_row: SignInGuard, address_row: SignInGuard, now) -> SignInRefused | None:
    if user_row.locked_at is not None:
        return SignInRefused(
            "This user name is locked after too many failed sign-ins. An Administrator can lift the lock "
            "(Setup → Locked sign-ins). If you have set up an authenticator, sign in with its code.",
            blocked=True,
        )
    ends = address_lock_ends(address_row)
    if ends is not None and ends > now:
        minutes = max(1, round((ends - now).total_seconds() / 60))
        return SignInRefused(
            f"Too many failed sign-ins from your network address: try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}, or ask an Administrator to lift the lock. If you have set up an "
            "authenticator, sign in with its code.",
            retry_after=int((ends - now).total_seconds()) + 1, blocked=True,
        )
    if user_row.last_failure_at is not None:
        wait = user_row.last_failure_at + delay_after(user_row.failures) - now
        if wait > timedelta(0):
            seconds = int(wait.total_seconds()) + 1
            return SignInRefused(
                f"Too many failed sign-ins for this user name: wait {seconds} second{'s' if seconds != 1 else ''} "
                "before the next try.",
                retry_after=seconds, blocked=True,
            )
    return None


def _count_failure(user_row: SignInGuard, address_row: SignInGuard, now) -> None:
    for row in (user_row, address_row):
        row.failures += 1
        row.last_failure_at = now
    if user_row.locked_at is None and user_row.failures >= settings.ENGAGE_LOGIN_FAILURE_LIMIT:
        user_row.locked_at = now
        audit_record(action=AuditAction.SIGN_IN_LOCKED, object_type=OBJECT_TYPE, object_id=user_row.pk,
                     object_repr=f"user name {user_row.key}", after={"failures": user_row.failures})
    if address_row.locked_at is None and address_row.failures >= settings.ENGAGE_LOGIN_ADDRESS_LIMIT:
        address_row.locked_at = now
        audit_record(action=AuditAction.SIGN_IN_LOCKED, object_type=OBJECT_TYPE, object_id=address_row.pk,
                     object_repr=f"address {address_row.key}", after={"failures": address_row.failures})
    for row in (user_row, address_row):
        row.save(update_fields=["failures", "last_failure_at", "locked_at"])


WRONG = "Your user name and password didn't match. Please try again."
WRONG_WITH_CODE = "Your user name, password and code didn't match. Please try again."


def _active_user(username: str):
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}, is_active=True).first()


def check_sign_in(request, *, username: str, password: str, code: str = "") -> SignedIn:
    """Judge one sign-in: the user if the password is right and no delay or lock stands in the way (or the
    user also proved a second factor); SignInRefused otherwise. A wrong password is counted; a try refused by
    a delay or lock is not (and its password is not checked). The whole judgement holds the two counter rows
    locked, so parallel guesses queue behind each other and each is counted."""
    with transaction.atomic():
        verdict = _judge(request, username, password, (code or "").strip(), timezone.now())
    # Raised after the commit: a refusal keeps the failure it counted.
    if isinstance(verdict, SignInRefused):
        raise verdict
    return verdict


def _judge(request, username: str, password: str, code: str, now) -> "SignedIn | SignInRefused":
    user_row = _row(Kind.USER, user_key(username))
    address_row = _row(Kind.ADDRESS, (client_address(request) or "unknown")[:150])
    for row in (user_row, address_row):
        _forget_old(row, now)
    refused = _blocked(user_row, address_row, now)
    if refused is not None and not code:
        return refused
    if refused is not None:
        # The way through a lock: a second factor first (it works once), then the password.
        candidate = _active_user(username)
        device = verify(candidate, code) if candidate is not None else None
        user = authenticate(request, username=username, password=password) if device is not None else None
        if user is None or user.pk != candidate.pk:
            _count_failure(user_row, address_row, now)
            return SignInRefused(WRONG_WITH_CODE, blocked=True)
        _succeeded(user_row)
        return SignedIn(user=user, device=device)
    user = authenticate(request, username=username, password=password)
    if user is None:
        _count_failure(user_row, address_row, now)
        after = _blocked(user_row, address_row, now)
        return SignInRefused(WRONG + (f" {after.message}" if after else ""), retry_after=after and after.retry_after)
    if not is_enrolled(user):
        _succeeded(user_row)
    return SignedIn(user=user, device=None)


def _succeeded(user_row: SignInGuard) -> None:
    """A full sign-in forgets the user name's failures (the address's stay: one's own sign-in must not
    reset a count that guesses at other names built up)."""
    if user_row.failures or user_row.locked_at:
        user_row.failures, user_row.last_failure_at, user_row.locked_at = 0, None, None
        user_row.save(update_fields=["failures", "last_failure_at", "locked_at"])


def second_step_done(username: str) -> None:
    """The second factor after a right password: the sign-in is complete, the user name's failures forgotten."""
    with transaction.atomic():
        _succeeded(_row(Kind.USER, user_key(username)))


def locks_now():
    """Rows holding a lock or a delay now, newest first: what Setup → Locked sign-ins lists."""
    now = timezone.now()
    rows = SignInGuard.objects.filter(last_failure_at__isnull=False).exclude(failures=0).order_by("-last_failure_at")
    shown = []
    for row in rows[:500]:
        _forget_old(row, now)
        if row.kind == Kind.USER and (row.locked_at or row.failures >= settings.ENGAGE_LOGIN_DELAY_AFTER):
            shown.append(row)
        elif row.kind == Kind.ADDRESS and row.locked_at:
            shown.append(row)
    return shown[:200]


@transaction.atomic
def unlock(*, guard_id: int | None = None, kind: str | None = None, key: str | None = None) -> SignInGuard:
    """Lift a lock (and the delay) of one user name or address: its next sign-in is judged afresh."""
    rows = SignInGuard.objects.select_for_update()
    if guard_id is not None:
        row = rows.filter(pk=guard_id).first()
    else:
        row = rows.filter(kind=kind, key=user_key(key) if kind == Kind.USER else key).first()
    if row is None or (row.failures == 0 and row.locked_at is None):
        raise DomainError("That sign-in is not locked or slowed down: nothing to lift.")
    before = {"failures": row.failures, "locked": row.locked_at is not None}
    row.failures, row.last_failure_at, row.locked_at = 0, None, None
    row.save(update_fields=["failures", "last_failure_at", "locked_at"])
    audit_record(action=AuditAction.SIGN_IN_UNLOCKED, object_type=OBJECT_TYPE, object_id=row.pk,
                 object_repr=f"{row.get_kind_display().lower()} {row.key}", before=before,
                 after={"failures": 0, "locked": False})
    return row


def prune(*, older_than=timedelta(days=2)) -> int:
    """Forget rows with no lock whose last failure is old (daily)."""
    cutoff = timezone.now() - older_than
    deleted, _ = SignInGuard.objects.filter(locked_at__isnull=True, last_failure_at__lt=cutoff).delete()
    deleted_empty, _ = SignInGuard.objects.filter(failures=0, locked_at__isnull=True).delete()
    return deleted + deleted_empty
