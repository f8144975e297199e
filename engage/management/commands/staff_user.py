"""Create a real user in one of Engage's roles, or change the role of an existing one.

    manage.py staff_user ana --role administrators --email ana@example.net    (asks for the password)
    echo "$PASSWORD" | manage.py staff_user ben --role support --password-stdin
    manage.py staff_user ana --role support                                    (moves Ana to Support)
    manage.py staff_user ana --deactivate                                      (she can no longer sign in)
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from engage.roles import ADMINISTRATORS, SUPPORT

ROLES = {"administrators": ADMINISTRATORS, "support": SUPPORT}


class Command(BaseCommand):
    help = "Create a user in the Administrators or Support role, or change an existing user's role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), help="the user's one role")
        parser.add_argument("--email", default=None)
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--deactivate", action="store_true", help="keep the user and history, refuse sign-in")

    def handle(self, *args, username, role, email, password_stdin, deactivate, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None and deactivate:
            raise CommandError(f"There is no user {username!r}.")
        if user is None and not role:
            raise CommandError("A new user needs --role administrators or --role support.")
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif user is None:
            password = self._ask_password()
        if password is not None:
            try:
                validate_password(password, user or User(username=username, email=email or ""))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        with transaction.atomic():
            created = user is None
            if created:
                user = User.objects.create_user(username=username, email=email or "", password=password)
            else:
                if email is not None:
                    user.email = email
                if password is not None:
                    user.set_password(password)
                user.is_active = not deactivate
                user.save()
            if role:
                user.groups.remove(*Group.objects.filter(name__in=ROLES.values()))
                user.groups.add(Group.objects.get(name=ROLES[role]))
        roles = ", ".join(user.groups.filter(name__in=ROLES.values()).values_list("name", flat=True)) or "no role"
        state = "deactivated" if not user.is_active else roles
        self.stdout.write(self.style.SUCCESS(f"{'Created' if created else 'Updated'} {username}: {state}."))

    def _ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for the password: pipe it in with --password-stdin.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
