"""SPEC §6–§7: the provisioning pass can be killed at any point and re-run. Accounts whose switch entry
(ledger backend) differs from their desired state get their drift jobs from a real worker running
`provisioning_pass_task`, SIGKILLed once while it writes the drift jobs and once while it runs them; a
fresh worker finishes. Every account ends on its desired state with exactly one done job per drifted
account and none for the others.
"""

import time
from collections import Counter

from django.db.models import Count

from engage.models import PassRun
from provisioning.models import ProvisioningJob, SwitchEntry
from provisioning.passes import drifted_accounts
from provisioning.tasks import provisioning_pass_task

from .conftest import WORKER_TEST, assert_counters_match_a_recount, bulk_accounts, kill_when, print_pass_runs, wait_for

pytestmark = WORKER_TEST

ACCOUNTS = 2_500
AS_OF = "2031-03-10"
DESIRED = {"Active": "enabled", "Suspended": "suspended", "Cancelled": "absent", "Prospect": "absent"}


def kind(i: int) -> tuple[str, str]:
    """(status type, switch entry now; absent = no row) of account i: 70% Active and not on the switch,
    10% Suspended but enabled, 10% Cancelled but still there (suspended), and 10% without drift."""
    r = i % 10
    if r < 7:
        return "Active", "absent"
    if r == 7:
        return "Suspended", "enabled"
    if r == 8:
        return "Cancelled", "suspended"
    return ("Active", "enabled") if i % 20 == 9 else ("Prospect", "absent")


def seed() -> dict[int, tuple[str, str]]:
    specs = [kind(i) for i in range(ACCOUNTS)]
    accounts = bulk_accounts([(1 + i % 28, type_name) for i, (type_name, _now) in enumerate(specs)],
                             prefix="Switch")
    SwitchEntry.objects.bulk_create(
        [SwitchEntry(account=a, state=now) for a, (_t, now) in zip(accounts, specs, strict=True) if now != "absent"],
        batch_size=5000,
    )
    return {a.pk: spec for a, spec in zip(accounts, specs, strict=True)}


def test_provisioning_pass_killed_twice_then_rerun_reaches_the_desired_state_once(workers):
    t0 = time.monotonic()
    accounts = seed()
    drifted = {pk: DESIRED[t] for pk, (t, now) in accounts.items() if DESIRED[t] != now}
    print(f"\nseeded {len(accounts)} accounts, {len(drifted)} drifted ({Counter(drifted.values())}) in "
          f"{time.monotonic() - t0:.1f}s")
    assert drifted_accounts().count() == len(drifted)

    kills = []
    points = [
        ("while it writes the drift jobs", ProvisioningJob.objects.count, 1),
        ("after ~50% of the jobs ran", lambda: ProvisioningJob.objects.filter(state="done").count(),
         len(drifted) // 2),
    ]
    for what, count, threshold in points:
        # Chunks of 100 accounts (one transaction each with the ledger): there is a middle to be killed in.
        worker = workers.start(ENGAGE_PROVISIONING_BATCH="100")
        sent = time.monotonic()
        worker.send(provisioning_pass_task, AS_OF)
        seen = kill_when(worker, count, threshold, timeout=120, what=what)
        kills.append({"when": what, "seen": seen,
                      "jobs": ProvisioningJob.objects.count(),
                      "done": ProvisioningJob.objects.filter(state="done").count(),
                      "seconds_after_send": round(time.monotonic() - sent, 2)})
        assert ProvisioningJob.objects.filter(state="done").count() < len(drifted), "killed too late"
        # Every job that ran left the switch entry it reports (the backend's write and the job's state
        # are in one transaction).
        for account_id, target in ProvisioningJob.objects.filter(state="done").values_list("account_id", "target"):
            state = SwitchEntry.objects.filter(account_id=account_id).values_list("state", flat=True).first()
            assert (state or "absent") == target
    print(f"kills: {kills}")

    final = workers.start()
    started = time.monotonic()
    final.send(provisioning_pass_task, AS_OF)
    done = wait_for(
        lambda: PassRun.objects.filter(name="provisioning", finished_at__isnull=False).first(),
        timeout=150, worker=final, what="the re-run to finish",
    )
    print(f"re-run took {time.monotonic() - started:.1f}s (worker start included)")
    final.stop()
    runs = print_pass_runs("provisioning")
    assert [run.finished_at is None for run in runs] == [True, True, False]
    assert done.succeeded is True and done.failed == 0, done.detail

    jobs = list(ProvisioningJob.objects.values_list("account_id", "target", "state"))
    assert Counter(state for _a, _t, state in jobs) == {"done": len(drifted)}
    assert {a: t for a, t, _s in jobs} == drifted and len(jobs) == len(drifted)
    twice = (
        ProvisioningJob.objects.filter(state="done").values("account_id", "target")
        .annotate(n=Count("id")).filter(n__gt=1).count()
    )
    assert twice == 0
    entries = dict(SwitchEntry.objects.values_list("account_id", "state"))
    assert entries == {pk: DESIRED[t] for pk, (t, _now) in accounts.items() if DESIRED[t] != "absent"}
    assert not drifted_accounts().exists()
    assert_counters_match_a_recount()
    print(f"test took {time.monotonic() - t0:.1f}s")
