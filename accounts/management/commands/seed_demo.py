"""Demo data for `make run`: users, a few hundred accounts across all statuses, packages, usage."""

import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.engine import account_change_status, recount_status_types
from accounts.models import Account
from accounts.services import assign_numbers
from billing.demo import seed_billing
from engage.clock import today
from engage.roles import ADMINISTRATORS, SUPPORT
from provisioning.passes import provisioning_pass
from statuses.models import AccountStatusType
from statuses.rules import ChangeOption
from statuses.selectors import reasons_for

USERS = [("admin", "engage-admin", ADMINISTRATORS), ("support", "engage-support", SUPPORT)]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jin", "Kai", "Lea", "Milo", "Nia"]
LAST = ["Okafor", "Silva", "Novak", "Tanaka", "Moreau", "Jensen", "Rossi", "Kowalski", "Haddad", "Byrne"]


class Command(BaseCommand):
    help = "Load demo data (once): an administrator, a support user, accounts, packages, usage."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300)

    def handle(self, *args, accounts=300, **options):
        User = get_user_model()
        for username, password, group in USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            if created:
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=group))
        if Account.objects.exists():
            self.stdout.write("Demo accounts already exist; nothing added.")
        else:
            self._seed(accounts)
            # The switch for all demo accounts in one pass, rather than a queued job per account.
            self.stdout.write(f"Provisioning: {provisioning_pass()}")
        self.stdout.write(self.style.SUCCESS("Sign in at http://127.0.0.1:8000/ as"))
        for username, password, group in USERS:
            self.stdout.write(f"  {username} / {password}  ({group})")

    @transaction.atomic
    def _seed(self, n):
        rng = random.Random(7)
        active = AccountStatusType.objects.get(is_default=True)
        prospect = AccountStatusType.objects.filter(backend_status="prospect").first()
        made = Account.objects.bulk_create(
            [
                Account(
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    email=f"customer{i}@example.net",
                    bill_day=rng.choice([1, 1, 5, 15, 15, 28]),
                    status_type=prospect if i % 20 == 0 else active,
                )
                for i in range(n)
            ]
        )
        assign_numbers()
        ids = sorted(a.pk for a in made)
        recount_status_types(fix=True)
        seed_billing(ids, today())
        candidates = sorted(Account.objects.filter(status_type=active).values_list("pk", flat=True))
        rng.shuffle(candidates)
        # Through the engine, so the demo has history, credits and provisioning like real changes.
        moves = [("suspended", candidates[:25]), ("cancelled", candidates[25:45])]
        for backend, account_ids in moves:
            to_type = AccountStatusType.objects.filter(backend_status=backend).first()
            reason = reasons_for(backend)[0]
            for account_id in account_ids:
                account_change_status(
                    account_id=account_id, to_type=to_type, reason=reason, option=ChangeOption.PRORATED, note="Demo"
                )
        self.stdout.write(f"Created {n} demo accounts.")
