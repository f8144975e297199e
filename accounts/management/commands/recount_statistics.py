from django.core.management.base import BaseCommand

from accounts.engine import recount_status_types


class Command(BaseCommand):
    help = "Recount accounts per status type from scratch and report (and with --fix, repair) any difference."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="write the recounted numbers")

    def handle(self, *args, fix=False, **options):
        diffs = recount_status_types(fix=fix)
        if not diffs:
            self.stdout.write(self.style.SUCCESS("Counters match the accounts table."))
            return
        for type_id, (stored, actual) in sorted(diffs.items()):
            self.stdout.write(f"status type {type_id}: counter {stored}, accounts {actual}")
        self.stdout.write(self.style.WARNING(f"{len(diffs)} counter(s) differ{' and were fixed' if fix else ''}."))
