"""Shared bits of the pass management commands: every pass takes --date YYYY-MM-DD (as-of date)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from .clock import parse_as_of


def parse_date(value: str | None) -> date:
    try:
        return parse_as_of(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from None


class PassCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--date", help="as-of date, YYYY-MM-DD (default: today)")

    def handle(self, *args, **options):
        as_of = parse_date(options.get("date"))
        result = self.run_pass(as_of)
        self.stdout.write(self.style.SUCCESS(f"{self.help} as of {as_of:%Y-%m-%d}: {result}"))

    def run_pass(self, as_of: date):
        raise NotImplementedError
