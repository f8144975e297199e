"""The switch audit (SPEC §6: the switch is brought to the desired state of every account): read what the
switch really holds for every account, in pk-ordered batches, and repair what differs.

The provisioning pass compares the desired state with Engage's record of the switch (SwitchEntry), which
is cheap and runs every 5 minutes; only this audit asks the switch itself, so an account changed on the
switch behind Engage's back is found here. For each account without an open job: what the switch holds
is recorded, and a job is written when it is not the desired state. The ledger backend answers the same
read from its table, so the code path is one. Counted as PassRun.found, which scheduler health shows.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Max

from engage.clock import today
from engage.pass_runs import PassSummary, advance, detail, recorded_pass
from statuses.rules import SwitchState

from .backends import AccountRef, BackendError, get_backend
from .models import ProvisioningJob, SwitchEntry
from .passes import CHUNK_SIZE, accounts_without_open_job, write_jobs
from .runner import record_actuals

AUDIT_PASS_NAME = "switch_audit"


@dataclass
class AuditSummary(PassSummary):
    checked: int = 0
    drifted: int = 0  # not in the desired state on the switch: a job was written
    recorded: int = 0  # Engage's record of the switch was wrong and is now what the switch said
    unreadable: int = 0

    def words(self) -> str:
        text = (
            f"{self.checked} accounts read from the switch, {self.drifted} not in their desired state "
            f"(jobs written), {self.recorded} records corrected"
        )
        if self.unreadable:
            text += f", {self.unreadable} could not be read"
        return text + "."


def switch_audit(*, as_of: date | None = None, chunk_size: int = CHUNK_SIZE) -> AuditSummary:
    summary = AuditSummary()
    backend = get_backend()
    as_of = as_of or today()
    with recorded_pass(AUDIT_PASS_NAME, as_of) as run:
        after = 0
        while True:
            rows = list(
                accounts_without_open_job().filter(pk__gt=after).order_by("pk")
                .values_list("pk", "number", "desired")[:chunk_size]
            )
            if not rows:
                break
            after = rows[-1][0]
            ids = [pk for pk, _, _ in rows]
            # The newest job's version, so a receiver that checks versions answers this read too.
            versions = dict(
                ProvisioningJob.objects.filter(account_id__in=ids).values("account_id")
                .annotate(v=Max("id")).values_list("account_id", "v").order_by()
            )
            answers = backend.read_states([AccountRef(pk, number, versions.get(pk, 0)) for pk, number, _ in rows])
            recorded = dict(SwitchEntry.objects.filter(account_id__in=ids).values_list("account_id", "state"))
            drifted: list[int] = []
            corrections: dict[int, str] = {}
            for pk, _number, desired in rows:
                actual = answers.get(pk)
                if isinstance(actual, BackendError) or actual not in SwitchState.values:
                    summary.unreadable += 1
                    summary.errors.append(f"account {pk}: {actual}")
                    continue
                summary.checked += 1
                if recorded.get(pk, SwitchState.ABSENT) != actual:
                    corrections[pk] = actual
                if actual != desired:
                    drifted.append(pk)
            record_actuals(corrections)
            summary.recorded += len(corrections)
            if drifted:
                summary.drifted += write_jobs(drifted, accounts_without_open_job())
            advance(run, summary.checked)
        run.processed = summary.checked
        run.failed = summary.unreadable
        run.found = summary.drifted
        run.detail = detail(summary, summary.errors)
    return summary
