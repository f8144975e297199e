"""Shared bits of the pass management commands (SPEC §6): `--date YYYY-MM-DD` (that exact format), a
date after today only with `--allow-future`, progress on long runs, a summary at the end."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from .clock import today
from .errors import DomainError
from .limits import check_date
from .pass_runs import reporting_progress
from .schedule import pass_label


def parse_date(value: str | None, *, allow_future: bool = False) -> date:
    try:
        as_of = check_date(value, field="date", label="--date") if value else today()
    except DomainError as err:
        raise CommandError(f"{err.message} Not {value!r}.") from None
    if as_of > today() and not allow_future:
        raise CommandError(
            f"--date {as_of:%Y-%m-%d} is after today ({today():%Y-%m-%d}): the pass would act on a day that has "
            "not come (apply changes and bill periods not due yet). Give --allow-future if that is what you mean."
        )
    return as_of


class PassCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--date", help="as-of date, exactly YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--allow-future", action="store_true", help="allow a --date after today (testing, replaying a plan)"
        )

    def handle(self, *args, **options):
        as_of = parse_date(options.get("date"), allow_future=options.get("allow_future", False))
        with reporting_progress(self.progress):
            result = self.run_pass(as_of)
        for error in getattr(result, "errors", []):  # a summary's per-account errors
            self.stderr.write(f"  {error}")
        self.stdout.write(self.style.SUCCESS(f"{self.help} as of {as_of:%Y-%m-%d}: {result}"))

    progress_every = 2.0  # seconds between progress lines
    _last_progress = 0.0

    def progress(self, run) -> None:
        now = time.monotonic()
        if now - self._last_progress < self.progress_every:
            return
        self._last_progress = now
        self.stdout.write(f"  {pass_label(run.name)}: {run.processed:,} done so far…")
        self.stdout.flush()

    def run_pass(self, as_of: date):
        raise NotImplementedError
