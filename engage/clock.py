"""The business clock: what "today" is for every pass, page and API (dates in settings.TIME_ZONE), and
the one parser of an as-of date given to a task or a command."""

from datetime import date

from django.utils import timezone


def today() -> date:
    return timezone.localdate()


def parse_as_of(value: str | date | None) -> date:
    """An as-of date: today when absent; otherwise exactly YYYY-MM-DD (ValueError otherwise)."""
    if value is None or value == "":
        return today()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)
