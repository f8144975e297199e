from django.core.management.base import BaseCommand

from reporting.reason_rollup import rebuild_reason_counts


class Command(BaseCommand):
    help = "Recompute the changes-per-reason roll-up from the status history (a repair; it is kept as changes apply)."

    def handle(self, *args, **options):
        written = rebuild_reason_counts()
        self.stdout.write(f"Rebuilt the changes-per-reason roll-up: {written} day × reason × status rows.")
