"""Make a named API token for a user and print its key, once (only its digest is kept).

    manage.py api_token ana --name "billing export"                       (never expires)
    manage.py api_token ana --name nightly-sync --expires 2032-01-01      (stops working at 00:00 that day)
    KEY=$(manage.py api_token ana --name ci)                              (the key alone is on standard output)

The user sees, and may revoke, their tokens under Your sign-in → API tokens; an Administrator under Setup → Users.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from engage import users
from engage.audit import audit_actor
from engage.errors import DomainError


class Command(BaseCommand):
    help = "Make a named API token for a user (Authorization: Token <key>) and print its key once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for (shown in the user's list)")
        parser.add_argument("--expires", default=None, metavar="YYYY-MM-DD",
                            help="the day it stops working (from 00:00 in TIME_ZONE); without it, it never expires")

    def handle(self, *args, username, name, expires, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        try:
            with audit_actor("manage.py api_token"):
                token, key = users.create_token(user, name=name, expires_at=expires)
        except DomainError as err:
            raise CommandError(err.message) from None
        until = f"until {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "with no expiry"
        self.stderr.write(f"API token “{token.name}” for {username}, {until}. Copy the key now: it is not shown again.")
        self.stdout.write(key)
