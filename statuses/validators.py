from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_http_url = URLValidator(schemes=["http", "https"])

IMAGE_URL_MESSAGE = "Enter an http:// or https:// address, or a site path starting with /."


def validate_image_url(value: str) -> None:
    """Image URL: http(s) or a site-relative path; never javascript:, data: or //host."""
    if not value:
        return
    if value.startswith("/") and not value.startswith("//"):
        if any(c.isspace() for c in value) or urlsplit(value).scheme:
            raise ValidationError(IMAGE_URL_MESSAGE, code="image_url")
        return
    try:
        _http_url(value)
    except ValidationError as exc:
        raise ValidationError(IMAGE_URL_MESSAGE, code="image_url") from exc
