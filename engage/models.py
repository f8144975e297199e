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
    SIGN_IN_UNLOCKED = "sign_in_unlocked", "Sign-in unlocked"


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
