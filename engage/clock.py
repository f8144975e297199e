"""The business clock: what "today" is for every pass, page and API (dates in settings.TIME_ZONE), and
the one parser of an as-of date given to a task or a command."""

from datetime import date

from django.utils import timezone


def today() -> date:
    return timezone.localdate()


def parse_as_of(value: str | None) -> date:
    """An as-of date as tasks and commands receive it: today when absent, else YYYY-MM-DD (ValueError)."""
    return date.fromisoformat(value) if value else today()
