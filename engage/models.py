from django.conf import settings
from django.db import models
from django.utils import timezone

from .limits import ACTOR_NAME_MAX_CHARS


class PassRun(models.Model):
    """One run of a scheduled pass: what scheduler health reads (last success, failures, and a run that
    stopped without finishing: `finished_at` empty and no heartbeat for a while)."""

    name = models.CharField(max_length=32)  # the pass's name as its app registered it (engage.schedule)
    as_of = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Saved with `processed` after each chunk: how far a run got, and whether it is still alive.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(null=True)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # A pass split over account-id ranges (SPEC §10): how many parts, and how many have finished; the
    # part that finishes last finishes the run.
    parts = models.PositiveIntegerField(default=1)
    parts_done = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)  # what the run found wrong and set right (the switch audit's drift)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "-started_at"], name="pass_run_name_idx")]


class OutboxMessage(models.Model):
    """Background work a request caused (a status e-mail, …), written in the request's transaction
    (SPEC §6). Handed to Celery after commit; the relay on beat's schedule hands over whatever was not
    (or was lost on the way); the consumer does it once (`done_at`, under a row lock)."""

    kind = models.CharField(max_length=64)  # a handler registered with engage.outbox.handler
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    handed_at = models.DateTimeField(null=True, blank=True)  # last given to the broker
    handovers = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(done_at__isnull=True), name="outbox_open_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.payload} ({'done' if self.done_at else 'open'})"


class AuditAction(models.TextChoices):
    """The actions every app records; an app registers its own beside these (engage.audit.register_audit)."""

    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    SIGN_IN_LOCKED = "sign_in_locked", "Sign-in locked"
    SIGN_IN_UNLOCKED = "sign_in_unlocked", "Sign-in unlocked"
    USER_CREATED = "user_created", "User created"
    USER_CHANGED = "user_changed", "User changed"
    USER_ROLE_CHANGED = "user_role_changed", "Role changed"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    USER_REACTIVATED = "user_reactivated", "User reactivated"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", "Two factors turned on"
    TWO_FACTOR_REMOVED = "two_factor_removed", "Two factors turned off"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed", "Recovery codes renewed"


class AuditEntry(models.Model):
    """One write, recorded by the service that made it in the same transaction (SPEC §1): who, when,
    what, and the values before/after. Written by engage.audit.audit_record; never changed afterwards."""

    Action = AuditAction

    at = models.DateTimeField(default=timezone.now)
    # db_index off: the (actor, -id) index below serves the foreign key too.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_name = models.CharField(max_length=ACTOR_NAME_MAX_CHARS)  # the user name then, or "system" / a command's name
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32)  # registered by the app that writes it (engage.audit.register_audit)
    object_type = models.CharField(max_length=64)  # the model's verbose name: "account status type", …
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)  # the account it concerns (no FK: engage is the ground)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        # Newest first is keyset paging on the primary key; each filter has its own (…, -id) index.
        indexes = [
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["object_type", "object_id", "-id"], name="audit_object_idx"),
            models.Index(fields=["account_id", "-id"], name="audit_account_idx"),
            models.Index(fields=["at"], name="audit_at_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type} {self.object_id}"


class OnceKey(models.Model):
    """A write asked for once (SPEC §5, once only): an API POST's Idempotency-Key, or a page form's one-time
    token, per user. Inserted in the transaction of the write it guards (engage/once.py), so a second request
    with the key waits for the first and then gets its answer instead of writing again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of the method, path and body it came with
    created_at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField()  # the first answer, replayed
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=2000, blank=True)  # a redirect's target
    body = models.BinaryField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="once_key_per_user")]
        indexes = [models.Index(fields=["created_at"], name="once_key_created_idx")]

    def __str__(self):
        return f"{self.user_id} {self.key} → {self.status}"


class ApiToken(models.Model):
    """A named API token (SPEC §1): `Authorization: Token <key>`. Only the key's SHA-256 is stored; the key
    itself is shown once, when it is made. It may expire, records its last use (to the minute), and is
    revoked by setting `revoked_at` (the row stays, for the audit log and the user's list)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)  # sha256 hex of the key
    prefix = models.CharField(max_length=8)  # the key's first characters, to recognise it in a list
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "-id"], name="api_token_user_idx")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class UserAccess(models.Model):
    """What Engage keeps per user beside Django's user: `must_change_password` after an Administrator set the
    password (the user chooses their own at the next sign-in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="engage_access"
    )
    must_change_password = models.BooleanField(default=False)

    class Meta:
        verbose_name = "user access"
        verbose_name_plural = "user access"

    def __str__(self):
        return f"access of user {self.user_id}"


class SignedInSession(models.Model):
    """A session a user signed in with (engage/sessions.py): what "end this user's sessions" deletes on a role
    change, a deactivation or a password reset, whatever the session engine."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"session of user {self.user_id} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class SignInGuard(models.Model):
    """Failed sign-ins counted per user name (across all addresses) and per address (across user names),
    SPEC §1; engage/sign_in_guard.py decides the delay and the locks. One row per key, updated under a row
    lock, so parallel guesses are counted one by one."""

    class Kind(models.TextChoices):
        USER = "user", "User name"
        ADDRESS = "address", "Address"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=150)  # the user name as typed, lower-cased; or the client address
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="sign_in_guard_key")]
        indexes = [models.Index(fields=["last_failure_at"], name="sign_in_guard_time_idx")]

    def __str__(self):
        return f"{self.kind} {self.key}: {self.failures} failures{' (locked)' if self.locked_at else ''}"
