"""Users and their API tokens (SPEC §1): one service for the Users page, the /me/ pages and `manage.py staff_user`
/ `manage.py api_token`. Every change is one function that locks the user first, re-checks, writes and records
the change in the audit log (object type "user" or "API token") in its transaction.

The rules it keeps:
- a deactivated user stays deactivated until `reactivate` on purpose: a role change never reactivates;
- deactivation and a role change end all the user's sessions and revoke all their API tokens;
- the last active Administrator cannot be deactivated or moved to Support (nobody could manage Engage);
- passwords pass Django's full validator set (12 characters at least); one an Administrator sets (a new user's,
  a reset) must be replaced by the user at their next sign-in."""

import secrets
from datetime import date, datetime, time

from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Prefetch, Q
from django.utils import timezone

from .audit import audit_record, audit_record_many
from .clock import today
from .errors import DomainError, FieldErrors, NotFoundError
from .limits import EMAIL_MAX_CHARS, LAST_DATE, NAME_MAX_CHARS, check_date, check_email, check_text
from .models import ApiToken, AuditAction, UserAccess
from .roles import ADMINISTRATORS, SUPPORT
from .sessions import end_sessions, password_chosen
from .tokens import make_token, usable, usable_q
from .two_factor import enrolled

# The two roles by the names the command line and the forms use; a user has exactly one.
ROLES = {"administrators": ADMINISTRATORS, "support": SUPPORT}
ROLE_CHOICES = [("administrators", "Administrator"), ("support", "Support")]
USER = "user"  # the audit log's object types (registered in engage/registry.py)
TOKEN = "API token"
# A generated password: 4 groups of 5 characters from 31 that cannot be mistaken for each other (99 bits).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def role_of(user) -> str | None:
    """"administrators", "support" or None. Reads `user.groups.all()`, so a prefetched list costs no query;
    a superuser is an Administrator (engage.roles.is_administrator)."""
    names = {group.name for group in user.groups.all()}
    if user.is_superuser or ADMINISTRATORS in names:
        return "administrators"
    if SUPPORT in names:
        return "support"
    return None


def role_label(role: str | None) -> str:
    return dict(ROLE_CHOICES).get(role, "No role")


def _record(user) -> dict:
    return {"username": user.get_username(), "email": user.email, "role": role_label(role_of(user)),
            "is_active": user.is_active}


def _lock(user, *, with_administrators: bool = False):
    """The user's row, locked, as it is now (NotFoundError when it is gone). `with_administrators`: every active
    Administrator's row too, all in pk order (engage/locks.py's rule), before a change that may take the user out
    of the Administrators: two Administrators demoting each other at once then run one after the other, and the
    second sees the first's change, instead of both seeing the other one still there (or deadlocking)."""
    User = get_user_model()
    ids = {user.pk}
    if with_administrators:
        ids |= set(_active_administrators().values_list("pk", flat=True))
    rows = {row.pk: row for row in User.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("pk")}
    if user.pk not in rows:
        raise NotFoundError(f"No user with id {user.pk}: it may have been deleted.")
    return rows[user.pk]


def _active_administrators():
    User = get_user_model()
    return User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name=ADMINISTRATORS))


def _refuse_if_last_administrator(user, doing: str) -> None:
    """Before `user` stops being an active Administrator (its row and theirs locked by _lock): are others left?"""
    if not _active_administrators().exclude(pk=user.pk).exists():
        raise DomainError(
            f"“{user.get_username()}” is the last active Administrator and cannot be {doing}: make another user "
            "an Administrator first, so that someone can still manage users and Setup.",
            code="last_administrator",
        )


def _check_password(password: str, user, *, field: str = "password") -> None:
    if not isinstance(password, str) or not password:
        raise DomainError("A password is required.", field=field)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise FieldErrors({field: list(exc.messages)}) from None


def password_rules() -> list[str]:
    """What a password must be, for the forms' help text."""
    return password_validators_help_texts()


def _set_must_change(user, value: bool) -> bool:
    """Set UserAccess.must_change_password; returns what it was."""
    access, _created = UserAccess.objects.select_for_update().get_or_create(user=user)
    was = access.must_change_password
    if was != value:
        access.must_change_password = value
        access.save(update_fields=["must_change_password"])
    return was


@transaction.atomic
def create_user(username: str, email: str, role: str, password: str, *, must_change_password: bool = False):
    """A user in one role. The user name is unique whatever its case (sign-in matches it so); the password passes
    the validators. `must_change_password`: an Administrator chose it, so the user replaces it first."""
    User = get_user_model()
    username = check_text(username, field="username", label="User name", max_chars=150, required=True)
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="username") from None
    email = check_email(email) if (email or "").strip() else ""
    if role not in ROLES:
        raise DomainError("Choose a role: Administrator or Support.", field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(f"There is already a user “{username}”.", field="username")
    _check_password(password, User(username=username, email=email))
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise DomainError(f"There is already a user “{username}”.", field="username") from None
    user.groups.set([Group.objects.get(name=ROLES[role])])
    UserAccess.objects.create(user=user, must_change_password=must_change_password)
    audit_record(action=AuditAction.USER_CREATED, obj=user, object_type=USER,
                 after={**_record(user), "must_change_password": must_change_password})
    return user


@transaction.atomic
def change_email(user, email: str):
    """A user's e-mail address (blank for none)."""
    locked = _lock(user)
    email = check_email(email) if (email or "").strip() else ""
    if email == locked.email:
        return locked
    before = {"email": locked.email}
    locked.email = email[:EMAIL_MAX_CHARS]
    locked.save(update_fields=["email"])
    audit_record(action=AuditAction.USER_CHANGED, obj=locked, object_type=USER, before=before, after={"email": email})
    return locked


@transaction.atomic
def set_role(user, role: str) -> bool:
    """Give the user this one role. An active or deactivated user keeps that state (a role change never
    reactivates); their sessions end and their API tokens are revoked, so that nothing keeps the old rights.
    Moving the last active Administrator to Support is refused. False when the user already had the role."""
    if role not in ROLES:
        raise DomainError("Choose a role: Administrator or Support.", field="role")
    locked = _lock(user, with_administrators=True)
    before = role_of(locked)
    if before == role:
        return False
    if before == "administrators" and locked.is_active:
        _refuse_if_last_administrator(locked, "moved to Support")
    locked.groups.set([Group.objects.get(name=ROLES[role])])
    if role == "support" and locked.is_superuser:
        locked.is_superuser = False  # a superuser is an Administrator whatever their groups
        locked.save(update_fields=["is_superuser"])
    sessions = end_sessions(locked)
    revoked = revoke_all_tokens(locked)
    audit_record(action=AuditAction.USER_ROLE_CHANGED, obj=locked, object_type=USER,
                 before={"role": role_label(before)},
                 after={"role": role_label(role), "sessions_ended": sessions, "tokens_revoked": revoked})
    return True


@transaction.atomic
def deactivate(user):
    """The user can no longer sign in or use the API, until `reactivate`; their history stays. Their sessions end
    and their API tokens are revoked (a reactivated user makes new ones). The last active Administrator cannot be
    deactivated."""
    locked = _lock(user, with_administrators=True)
    if not locked.is_active:
        raise DomainError(f"“{locked.get_username()}” is already deactivated.")
    if role_of(locked) == "administrators":
        _refuse_if_last_administrator(locked, "deactivated")
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    sessions = end_sessions(locked)
    revoked = revoke_all_tokens(locked)
    audit_record(action=AuditAction.USER_DEACTIVATED, obj=locked, object_type=USER, before={"is_active": True},
                 after={"is_active": False, "sessions_ended": sessions, "tokens_revoked": revoked})
    return locked


@transaction.atomic
def reactivate(user):
    """A deactivated user may sign in again, in the role they have (their old tokens stay revoked)."""
    locked = _lock(user)
    if locked.is_active:
        raise DomainError(f"“{locked.get_username()}” is already active.")
    locked.is_active = True
    locked.save(update_fields=["is_active"])
    audit_record(action=AuditAction.USER_REACTIVATED, obj=locked, object_type=USER, before={"is_active": False},
                 after={"is_active": True})
    return locked


def generate_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


@transaction.atomic
def reset_password(user, *, actor=None) -> str:
    """A new random password for the user, returned to be shown once to the Administrator; the user must choose
    their own at their next sign-in, and their sessions end. Administrators change their own on /me/password/."""
    locked = _lock(user)
    if actor is not None and actor.pk == locked.pk:
        raise DomainError("Change your own password under Your sign-in → Password, with your current one.")
    password = generate_password()
    _replace_password(locked, password, must_change=True, how="generated")
    return password


@transaction.atomic
def set_password(user, password: str):
    """A password typed by whoever runs `manage.py staff_user` (the recovery of a forgotten one): validated; the
    user's sessions end. The user is not asked to change it (whoever runs the command is trusted with it)."""
    locked = _lock(user)
    _replace_password(locked, password, must_change=False, how="set")
    return locked


def _replace_password(locked, password: str, *, must_change: bool, how: str) -> None:
    """Someone else set the user's password (the caller holds the user's lock): validated, sessions ended,
    recorded (never the password itself)."""
    _check_password(password, locked)
    locked.set_password(password)
    locked.save(update_fields=["password"])
    was = _set_must_change(locked, must_change)
    sessions = end_sessions(locked)
    audit_record(action=AuditAction.PASSWORD_RESET, obj=locked, object_type=USER,
                 before={"must_change_password": was},
                 after={"password": how, "must_change_password": must_change, "sessions_ended": sessions})


@transaction.atomic
def change_own_password(request, *, old: str, new: str):
    """The signed-in user replaces their password: the current one must be right, the new one must pass the
    validators and differ from it. This session stays signed in (its other sessions end: Django ties each session
    to the password), and a password an Administrator set no longer has to be changed."""
    locked = _lock(request.user)
    if not locked.check_password(old or ""):
        raise DomainError("Your current password is not right.", field="old_password")
    if new == old:
        raise DomainError("Choose a new password, not the current one.", field="new_password")
    _check_password(new, locked, field="new_password")
    locked.set_password(new)
    locked.save(update_fields=["password"])
    was = _set_must_change(locked, False)
    update_session_auth_hash(request, locked)
    password_chosen(request)
    audit_record(action=AuditAction.PASSWORD_CHANGED, obj=locked, object_type=USER,
                 before={"must_change_password": was}, after={"password": "changed", "must_change_password": False})
    return locked


# API tokens

def _expiry(expires) -> datetime | None:
    """A date is the day the token stops working, from 00:00 in TIME_ZONE; it must be after today."""
    if expires in (None, ""):
        return None
    if isinstance(expires, datetime):
        moment = expires if timezone.is_aware(expires) else timezone.make_aware(expires)
        if moment <= timezone.now():
            raise DomainError("The expiry must be in the future.", field="expires")
        return moment
    day = check_date(expires, field="expires", label="Expires on")
    if day <= today():
        raise DomainError(f"Expires on must be after today ({today()}).", field="expires")
    if day > LAST_DATE:
        raise DomainError(f"Expires on must be at the latest {LAST_DATE}.", field="expires")
    return timezone.make_aware(datetime.combine(day, time.min))


def _token_record(token) -> dict:
    return {"user": token.user.get_username(), "name": token.name, "prefix": token.prefix,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at}


@transaction.atomic
def create_token(user, *, name: str, expires_at: date | datetime | None = None) -> tuple[ApiToken, str]:
    """A named API token for an active user, perhaps expiring: (the row, its key). The key is shown once and only
    its digest is kept. Two usable tokens of one user may not share a name (the list tells them apart by it)."""
    locked = _lock(user)
    if not locked.is_active:
        raise DomainError(f"“{locked.get_username()}” is deactivated and cannot have API tokens.")
    name = check_text(name, field="name", label="Name", max_chars=NAME_MAX_CHARS, required=True)
    moment = _expiry(expires_at)
    if usable(ApiToken.objects.filter(user=locked, name=name)).exists():
        raise DomainError(f"There is already a token named “{name}”: choose another name, or revoke that one.",
                          field="name")
    token, key = make_token(locked, name=name, expires_at=moment)
    audit_record(action=AuditAction.TOKEN_CREATED, obj=token, object_type=TOKEN, after=_token_record(token))
    return token, key


@transaction.atomic
def revoke_token(token) -> ApiToken:
    """The token no longer opens the API (it stays listed, revoked)."""
    locked = ApiToken.objects.select_for_update().select_related("user").filter(pk=token.pk).first()
    if locked is None:
        raise NotFoundError("No such API token.")
    if locked.revoked_at is not None:
        raise DomainError(f"The token “{locked.name}” was already revoked.")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(action=AuditAction.TOKEN_REVOKED, obj=locked, object_type=TOKEN, before={"revoked_at": None},
                 after={"revoked_at": locked.revoked_at})
    return locked


@transaction.atomic
def revoke_all_tokens(user) -> int:
    """Revoke every token of the user that is not revoked yet (expired ones too, so that none is left to
    extend); one audit entry each. Returns how many."""
    tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True).order_by("pk"))
    if not tokens:
        return 0
    now = timezone.now()
    ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    audit_record_many(action=AuditAction.TOKEN_REVOKED, objects=tokens, object_type=TOKEN,
                      before=lambda _t: {"revoked_at": None}, after=lambda _t: {"revoked_at": now})
    return len(tokens)


# Reads

def user_list():
    """Every user for the Users page, with its groups, whether it has two factors (engage.two_factor's rule)
    and its usable token count (engage.tokens's rule), in a fixed number of queries."""
    User = get_user_model()
    return (
        User.objects.annotate(
            usable_tokens=Count("api_tokens", filter=usable_q(through="api_tokens__")),
            has_two_factor=enrolled(OuterRef("pk")),
        )
        .prefetch_related(Prefetch("groups", queryset=Group.objects.only("name")))
        .order_by("username")
    )


def tokens_of(user):
    """A user's tokens, newest first, revoked and expired ones included."""
    return ApiToken.objects.filter(user=user).order_by("-id")


def token_state(token, now=None) -> str:
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "usable"


def get_user(pk):
    User = get_user_model()
    user = User.objects.filter(pk=pk).prefetch_related("groups").first()
    if user is None:
        raise NotFoundError(f"No user with id {pk}: it may have been deleted.")
    return user
