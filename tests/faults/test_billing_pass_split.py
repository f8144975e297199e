"""SPEC §10: the scheduled billing pass splits its work into Celery tasks over account-id ranges, which any
number of workers share, and records one pass run. Two real workers take the parts of one run; the
outcome is exactly that of one clean run, and the run finishes once, when its last part does."""

from collections import Counter

from django.db.models import Count, Sum

from billing.models import ChargeLine, Invoice, UserPackage
from billing.tasks import billing_pass_task
from engage.models import PassRun

from .conftest import WORKER_TEST, assert_counters_match_a_recount, wait_for
from .test_billing_pass_killed import AS_OF, expected_billing, seed

pytestmark = WORKER_TEST


def test_two_workers_share_the_parts_of_one_billing_run(workers):
    packages, suspended = seed()
    lines, next_bill = expected_billing(packages, suspended)
    first, second = workers.start(), workers.start()
    first.send(billing_pass_task, AS_OF.isoformat())
    run = wait_for(
        lambda: PassRun.objects.filter(name="billing", finished_at__isnull=False).first(),
        timeout=150, worker=first, what="the split run to finish",
    )
    # The worker that takes the pass splits it (ENGAGE_PASS_PARTS, 4 by default); both take the parts.
    assert (run.parts, run.parts_done, run.succeeded, run.failed) == (4, 4, True, 0), run.detail
    assert PassRun.objects.filter(name="billing").count() == 1
    assert run.processed == len({account for _end, _amount, account in lines.values()})
    assert run.detail.count("Accounts ") >= 2  # parts report their ranges

    assert ChargeLine.objects.count() == len(lines)
    twice = ChargeLine.objects.values("user_package_id", "period_start").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists()
    assert ChargeLine.objects.aggregate(s=Sum("amount"))["s"] == sum(amount for _e, amount, _a in lines.values())
    per_account = Counter(account for _end, _amount, account in lines.values())
    assert sorted(Invoice.objects.values_list("account_id", flat=True)) == sorted(per_account)
    assert dict(UserPackage.objects.values_list("id", "next_bill_date")) == next_bill
    assert_counters_match_a_recount()
    first.stop()
    second.stop()
