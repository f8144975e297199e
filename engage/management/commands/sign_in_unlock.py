"""Lift a sign-in lock: the recovery when a user name (even the only Administrator's) or an address is locked
after failed sign-ins and nobody can sign in to lift it on Setup → Locked sign-ins.

    manage.py sign_in_unlock ana                 (the user name "ana": its lock and its delay)
    manage.py sign_in_unlock --address 203.0.113.7
"""

from django.core.management.base import BaseCommand, CommandError

from engage.audit import audit_actor
from engage.errors import DomainError
from engage.models import SignInGuard
from engage.sign_in_guard import unlock


class Command(BaseCommand):
    help = "Lift the sign-in lock (and the growing delay) of a user name, or of an address with --address."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="the user name as it is typed at sign-in")
        parser.add_argument("--address", help="an address locked after failed sign-ins across user names")

    def handle(self, *args, username, address, **options):
        if bool(username) == bool(address):
            raise CommandError("Give a user name, or --address ADDRESS (one of them).")
        kind, key = (SignInGuard.Kind.USER, username) if username else (SignInGuard.Kind.ADDRESS, address)
        try:
            with audit_actor("manage.py sign_in_unlock"):
                row = unlock(kind=kind, key=key)
        except DomainError as err:
            raise CommandError(f"{err.message} ({kind} {key!r})") from None
        self.stdout.write(self.style.SUCCESS(f"Lifted the lock on {row.get_kind_display().lower()} {row.key}."))
