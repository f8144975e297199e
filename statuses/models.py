from django.db import models
from django.db.models.functions import Lower

from engage.limits import IMAGE_URL_MAX_CHARS, NAME_MAX_CHARS

from .rules import BackendStatus


class AccountStatusType(models.Model):
    """An operator-defined status (any name), mapped to one of the four back-end statuses."""

    name = models.CharField(max_length=NAME_MAX_CHARS)
    backend_status = models.CharField(max_length=16, choices=BackendStatus.choices)
    image_url = models.CharField("Image URL", max_length=IMAGE_URL_MAX_CHARS, blank=True)
    show_in_statistics = models.BooleanField("Show in Account Statistics", default=True)
    is_default = models.BooleanField("Default for new accounts", default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="status_type_name_unique_ci"),
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="status_type_one_default"
            ),
            models.CheckConstraint(
                condition=~models.Q(is_default=True, backend_status=BackendStatus.CANCELLED),
                name="status_type_default_not_cancelled",
            ),
            models.CheckConstraint(
                condition=models.Q(backend_status__in=BackendStatus.values),
                name="status_type_backend_status_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def get_backend_status_display_label(self):
        return BackendStatus(self.backend_status).label


class StatusReason(models.Model):
    """Why an account was changed; applies to one or more back-end statuses; retire to hide it."""

    name = models.CharField(max_length=NAME_MAX_CHARS)
    backend_statuses = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    # How the code finds a reason it gives itself (ReasonKey), whatever an operator renames it to; empty for
    # the operator's own reasons.
    key = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="status_reason_name_unique_ci"),
            models.UniqueConstraint(fields=["key"], condition=~models.Q(key=""), name="status_reason_key_unique"),
        ]

    def __str__(self):
        return self.name

    def applies_to(self, backend_status: str) -> bool:
        return backend_status in self.backend_statuses

    @property
    def backend_status_labels(self) -> list[str]:
        return [BackendStatus(s).label for s in BackendStatus.values if s in self.backend_statuses]
