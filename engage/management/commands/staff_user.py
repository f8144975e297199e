"""Create a user in one of Engage's roles, or change one, through the same service as Setup → Users
(engage/users.py); the audit log names "manage.py staff_user" as who made each change.

    manage.py staff_user ana --role administrators --email ana@example.net    (asks for the password twice)
    echo "$PASSWORD" | manage.py staff_user ben --role support --password-stdin
    manage.py staff_user ana --role support               (moves Ana to Support: her sessions end, tokens revoked)
    manage.py staff_user ana --deactivate                 (she can no longer sign in; stays so until --reactivate)
    manage.py staff_user ana --reactivate
    echo "$PASSWORD" | manage.py staff_user ana --password-stdin   (a forgotten password)
    manage.py staff_user ana --remove-two-factor          (a lost authenticator and recovery codes)

A role change never reactivates a deactivated user.
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from engage import users
from engage.audit import audit_actor
from engage.errors import DomainError

ACTOR = "manage.py staff_user"


class Command(BaseCommand):
    help = (
        "Create a user in the Administrators or Support role, or change an existing user: role, e-mail, password, "
        "deactivate or reactivate, remove two-factor sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(users.ROLES), help="the user's one role")
        parser.add_argument("--email", default=None)
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from standard input (for a new user, or to set a forgotten one)")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--deactivate", action="store_true",
                           help="refuse sign-in and the API from now on (sessions end, tokens are revoked); the "
                                "user and their history stay")
        state.add_argument("--reactivate", action="store_true", help="let a deactivated user sign in again")
        parser.add_argument("--remove-two-factor", action="store_true",
                            help="turn the user's two-factor sign-in off (a lost authenticator and recovery codes)")

    def handle(self, *args, username, role, email, password_stdin, deactivate, reactivate, remove_two_factor,
               **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None and (deactivate or reactivate or remove_two_factor):
            raise CommandError(f"There is no user {username!r}.")
        if user is None and not role:
            raise CommandError("A new user needs --role administrators or --role support.")
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        done = []
        try:
            with audit_actor(ACTOR):
                if user is None:
                    if password is None:
                        password = self._ask_password()
                    user = users.create_user(username, email or "", role, password)
                    self.stdout.write(self.style.SUCCESS(f"Created {username}: {users.role_label(role)}."))
                    return
                done += self._change(user, role=role, email=email, password=password, deactivate=deactivate,
                                     reactivate=reactivate, remove_two_factor=remove_two_factor)
        except DomainError as err:
            messages = [m for ms in err.errors.values() for m in ms]
            raise CommandError(" ".join(messages)) from None
        user.refresh_from_db()
        state = users.role_label(users.role_of(user)) + ("" if user.is_active else ", deactivated")
        changes = f" ({'; '.join(done)})" if done else " (nothing to change)"
        self.stdout.write(self.style.SUCCESS(f"Updated {username}: {state}.{changes}"))

    def _change(self, user, *, role, email, password, deactivate, reactivate, remove_two_factor) -> list[str]:
        """Each change through the service, in the order a person would make them; what was done, in words."""
        done = []
        if email is not None and email.strip() != user.email:
            users.change_email(user, email)
            done.append("e-mail changed")
        if password is not None:
            users.set_password(user, password)
            done.append("password set, sessions ended")
        if role and users.set_role(user, role):
            done.append("role changed, sessions ended, tokens revoked")
        if deactivate:
            if user.is_active:
                users.deactivate(user)
                done.append("deactivated, sessions ended, tokens revoked")
            else:
                done.append("was already deactivated")
        if reactivate:
            if not user.is_active:
                users.reactivate(user)
                done.append("reactivated")
            else:
                done.append("was already active")
        if remove_two_factor:
            from engage.two_factor import remove_two_factor as remove

            done.append("two-factor sign-in removed" if remove(user) else "had no two-factor sign-in")
        return done

    def _ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for the password: pipe it in with --password-stdin.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
