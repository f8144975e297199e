"""Demo billing data for `make run`: a catalogue, user packages, usage, then one billing pass."""

import random
from datetime import date, timedelta
from decimal import Decimal

from .models import Package, UsageRecord, UserPackage
from .passes import billing_pass
from .proration import add_months

CATALOGUE = [
    ("Fibre 100", Decimal("49.99")),
    ("Fibre 500", Decimal("69.00")),
    ("VoIP line", Decimal("19.95")),
    ("Static IP", Decimal("5.00")),
    ("Mobile 10 GB", Decimal("12.50")),
]
USAGE = [("International calls", "0.50", "9.80"), ("Roaming data", "1.00", "25.00"), ("Premium SMS", "0.10", "3.00")]


def seed_billing(account_ids: list[int], today: date, *, seed: int = 11):
    """Most accounts get one or two packages started in the past months (some mid-period, so the first
    line is prorated), a few usage records; then the billing pass bills everything due as of today."""
    rng = random.Random(seed)
    existing = {p.name: p for p in Package.objects.filter(name__in=[name for name, _ in CATALOGUE])}
    Package.objects.bulk_create([Package(name=n, price=p) for n, p in CATALOGUE if n not in existing])
    catalogue = list(Package.objects.filter(name__in=[name for name, _ in CATALOGUE]).order_by("pk"))
    internet = [p for p in catalogue if p.name.startswith(("Fibre", "Mobile"))]
    extras = [p for p in catalogue if p not in internet]

    user_packages, usage = [], []
    for account_id in account_ids:
        if rng.random() < 0.1:  # a few accounts without packages
            continue
        start = add_months(today.replace(day=min(today.day, 28)), -rng.randint(0, 5)) - timedelta(
            days=rng.randint(0, 20)
        )
        chosen = [rng.choice(internet)] + ([rng.choice(extras)] if rng.random() < 0.5 else [])
        for package in chosen:
            quantity = 2 if package.name == "Static IP" and rng.random() < 0.3 else 1
            user_packages.append(
                UserPackage(
                    account_id=account_id, package=package, price=package.price, quantity=quantity,
                    start_date=start, next_bill_date=start,
                )
            )
        for _ in range(rng.randint(0, 3)):
            description, low, high = rng.choice(USAGE)
            amount = Decimal(rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))) / 100
            usage.append(
                UsageRecord(
                    account_id=account_id, amount=amount, description=description,
                    occurred_on=today - timedelta(days=rng.randint(0, 60)),
                )
            )
    UserPackage.objects.bulk_create(user_packages, batch_size=1000)
    UsageRecord.objects.bulk_create(usage, batch_size=1000)
    return billing_pass(as_of=today)
