"""Shared bits of the pass management commands (SPEC §6): `--date YYYY-MM-DD` (that exact format), a
date after today only with `--allow-future`, progress on long runs, a summary at the end."""

import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from .clock import today
from .errors import DomainError
from .limits import check_date
from .pass_runs import reporting_progress
from .schedule import pass_label, passes_up_to


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
    pass_name = None  # a pass of the business day: a future --date asks first what the passes would do ahead

    def add_arguments(self, parser):
        parser.add_argument("--date", help="as-of date, exactly YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--allow-future", action="store_true", help="allow a --date after today (testing, replaying a plan)"
        )
        parser.add_argument("--yes", action="store_true",
                            help="with --allow-future: go on without being asked what it will do ahead of time")

    def handle(self, *args, **options):
        as_of = parse_date(options.get("date"), allow_future=options.get("allow_future", False))
        if as_of > today() and self.pass_name:
            self._confirm_ahead(as_of, options.get("yes", False))
        try:
            with reporting_progress(self.progress):
                result = self.run_pass(as_of)
        except DomainError as err:  # a day before the pass's last success, say: nothing was run
            raise CommandError(err.message) from None
        for error in getattr(result, "errors", []):  # a summary's per-account errors
            self.stderr.write(f"  {error}")
        if isinstance(result, dict) and "caught_up" in result:
            for done in result["caught_up"]:
                self.stdout.write(f"  first, {done['day']}, {pass_label(done['pass']).lower()}: {done['summary']}")
            result = result.get(self.pass_name, result)
        self.stdout.write(self.style.SUCCESS(f"{self.help} as of {as_of:%Y-%m-%d}: {self.words(result)}"))

    def words(self, result) -> str:
        return str(result)

    def _confirm_ahead(self, as_of: date, yes: bool) -> None:
        """A run for a day that has not come acts on that day's work now (changes applied before their date):
        say how much, and go on only when told to."""
        ahead = [text for p in passes_up_to(self.pass_name) if p.ahead and (text := p.ahead(today(), as_of))]
        if not ahead or yes:
            return
        question = f"--date {as_of:%Y-%m-%d} is after today: this will {'; '.join(ahead)}."
        if not sys.stdin.isatty():
            raise CommandError(f"{question} Give --yes to go on.")
        if input(f"{question} Type yes to go on: ").strip().lower() != "yes":
            raise CommandError("Nothing was run.")

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
