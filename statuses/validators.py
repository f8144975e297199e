"""Field rules shared by the Setup forms, the API and the services, so every entry point says the same."""

import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from engage.limits import IMAGE_URL_MAX_CHARS as IMAGE_URL_MAX
from engage.limits import NAME_MAX_CHARS as NAME_MAX
from engage.limits import hidden_characters

NAME_REQUIRED = "Name is required."
IMAGE_URL_MESSAGE = "Image URL must be an http:// or https:// address, or a site path starting with /."

_http_url = URLValidator(schemes=["http", "https"])


def _has_control_chars(value: str) -> bool:
    return bool(hidden_characters(value))


def clean_name(value) -> str:
    """Trimmed, NFC-normalised, 1–100 characters, no control characters (uniqueness is the service's)."""
    name = unicodedata.normalize("NFC", str(value or "")).strip()
    if not name:
        raise ValidationError(NAME_REQUIRED, code="required")
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"Name must be at most {NAME_MAX} characters (it has {len(name):,}).", code="max_length"
        )
    hidden = hidden_characters(name)
    if hidden:
        raise ValidationError(
            "Name cannot contain control or invisible formatting characters (tabs, line breaks, "
            f"right-to-left overrides, …): {', '.join(dict.fromkeys(hidden))}.",
            code="invalid",
        )
    return name


def validate_image_url(value: str) -> None:
    """Image URL: http(s) or a site-relative path; never javascript:, data:, //host or /\\host."""
    if not value:
        return
    if len(value) > IMAGE_URL_MAX:
        raise ValidationError(
            f"Image URL must be at most {IMAGE_URL_MAX} characters (it has {len(value):,}).", code="max_length"
        )
    if any(c.isspace() for c in value) or _has_control_chars(value):
        raise ValidationError(f"{IMAGE_URL_MESSAGE} It cannot contain spaces.", code="image_url")
    if value.startswith("/"):
        # "//host" and "/\host" are read by browsers as another site, not a path on this one.
        if value.startswith("//") or any(c in value for c in '\\"<>`'):
            raise ValidationError(IMAGE_URL_MESSAGE, code="image_url")
        return
    scheme = urlsplit(value).scheme.lower()
    if scheme and scheme not in ("http", "https"):
        raise ValidationError(f"{IMAGE_URL_MESSAGE} “{scheme}:” addresses are not allowed.", code="image_url")
    try:
        _http_url(value)
    except ValidationError as exc:
        raise ValidationError(IMAGE_URL_MESSAGE, code="image_url") from exc
