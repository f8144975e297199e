"""Provisioning reads: what the Overview and the API show."""

from engage.account_model import get_account_model
from statuses.rules import SwitchState, switch_state

from .models import OPEN_STATES, JobState, ProvisioningJob, SwitchEntry

RECENT_JOBS = 10


def provisioning_summary(account_id: int) -> dict:
    """The account's switch state (as last confirmed), the state its status asks for, how many jobs are
    still open, the error of the newest failed open job ("" when none) and the recent jobs, newest first."""
    state = SwitchEntry.objects.filter(account_id=account_id).values_list("state", flat=True).first()
    state = state or SwitchState.ABSENT
    backend_status = (
        get_account_model().objects.filter(pk=account_id).values_list("status_type__backend_status", flat=True).first()
    )
    jobs = list(
        ProvisioningJob.objects.filter(account_id=account_id)
        .order_by("-id")
        .values("id", "target", "state", "attempts", "next_attempt_at", "last_error", "created_at", "finished_at")[
            :RECENT_JOBS
        ]
    )
    pending_jobs = ProvisioningJob.objects.filter(account_id=account_id, state__in=OPEN_STATES).count()
    last_failed = (
        ProvisioningJob.objects.filter(account_id=account_id, state=JobState.FAILED)
        .order_by("-id")
        .values_list("last_error", flat=True)
        .first()
    )
    for job in jobs:
        job["target_label"] = SwitchState(job["target"]).label
        job["state_label"] = JobState(job["state"]).label
    desired = switch_state(backend_status) if backend_status else None
    return {
        "state": state,
        "state_label": SwitchState(state).label,
        "desired": desired,
        "desired_label": SwitchState(desired).label if desired else "",
        "in_step": desired == state and not pending_jobs,
        "pending_jobs": pending_jobs,
        "last_error": last_failed or "",
        "jobs": jobs,
    }
