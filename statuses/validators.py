"""Field rules shared by the Setup forms, the API and the services, so every entry point says the same."""

import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from engage.errors import DomainError
from engage.limits import IMAGE_URL_MAX_CHARS as IMAGE_URL_MAX
from engage.limits import NAME_MAX_CHARS as NAME_MAX
from engage.limits import check_text, hidden_characters

NAME_REQUIRED = "Name is required."
IMAGE_URL_MESSAGE = "Image URL must be an http:// or https:// address, or a site path starting with /."

_http_url = URLValidator(schemes=["http", "https"])


def _has_control_chars(value: str) -> bool:
    return bool(hidden_characters(value))


def clean_name(value) -> str:
    """NFC-normalised, then the one text rule (limits.check_text): trimmed, 1–100 characters, no control or
    invisible characters, at least one visible one (uniqueness is the service's)."""
    try:
        return check_text(unicodedata.normalize("NFC", str(value or "")), field="name", label="Name",
                          max_chars=NAME_MAX, required=True)
    except DomainError as err:
        raise ValidationError(err.message, code="required" if err.message == NAME_REQUIRED else "invalid") from None


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
