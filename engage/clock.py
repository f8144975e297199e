"""The business clock: what "today" is for every pass, page and API (dates in settings.TIME_ZONE), and
the one parser of an as-of date given to a task or a command."""

import re
from datetime import date

from django.utils import timezone

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)  # ASCII digits only: not "２０２６-１２-０１"


def today() -> date:
    return timezone.localdate()


def parse_iso_date(value: str) -> date:
    """Exactly YYYY-MM-DD and a real day (ValueError otherwise): not 20261128 nor 2026-W48-6, which Python
    3.11's date.fromisoformat also reads, nor 2026-1-1, which strptime's %m and %d read."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    return date.fromisoformat(value)


def parse_as_of(value: str | None) -> date:
    """An as-of date as tasks and commands receive it: today when absent, else YYYY-MM-DD (ValueError)."""
    return parse_iso_date(value) if value else today()
