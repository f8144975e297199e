"""The app's side of each measurement, run in its own process with DATABASE_URL set to the copy under test:
`python -m bench.app <step> <as-of> [args]` prints one JSON object (seconds, queries, what it did)."""

import cProfile
import io
import json
import os
import pstats
import sys
import time
from datetime import date

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

import django  # noqa: E402

django.setup()


def _profile(fn):
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = fn()
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(16)
    lines = [" ".join(line.split()) for line in out.getvalue().splitlines()]
    top = [line for line in lines if line[:1].isdigit() and "function calls" not in line]
    # ncalls tottime percall cumtime percall where; the harness's own frames (this module) dropped.
    top = [line for line in top if "bench/app.py" not in line and "{method 'enable'" not in line][:10]
    return result, seconds, top


# BENCH_BREAK: the engine's writes the harness can skip on purpose, to show that the checksums see it.
BREAKS = ("audit", "email", "rollup")


def break_engine(names: list[str]) -> None:
    """Skip some of the engine's writes in this process, patched where the writer calls them
    (accounts/engine/writer.py): `audit` its audit entries (audit_changes), `email` its status e-mails
    (queue_status_change_emails), `rollup` the per-reason roll-up (reporting's receiver of
    status_changes_applied, disconnected). A name the code no longer has stops the step: a break that patched
    nothing would prove nothing."""
    from accounts.engine import writer

    for name in names:
        if name not in BREAKS:
            raise SystemExit(f"BENCH_BREAK: unknown {name!r} (known: {', '.join(BREAKS)})")
        if name == "rollup":
            if not writer.status_changes_applied.disconnect(dispatch_uid="reporting.reason_rollup"):
                raise SystemExit("BENCH_BREAK=rollup: reporting.reason_rollup is not connected to the engine's signal")
            continue
        attribute = {"audit": "audit_changes", "email": "queue_status_change_emails"}[name]
        if not hasattr(writer, attribute):
            raise SystemExit(f"BENCH_BREAK={name}: accounts.engine.writer has no {attribute} any more")
        setattr(writer, attribute, lambda *args, **kwargs: None)


def chunks() -> dict:
    """The passes' chunk sizes and the payment terms, as the code and its settings have them: the floors work
    in the same chunks (bench/floors.py CHUNKS)."""
    from django.conf import settings

    import accounts.bulk.services as bulk_services
    import billing.passes as billing_passes
    import dunning.passes as dunning_passes
    import provisioning.passes as provisioning_passes
    from accounts import passes as due_passes

    return {"billing": billing_passes.CHUNK_SIZE, "due": due_passes.DUE_CHUNK, "bulk": bulk_services.CHUNK,
            "bulk_collect": bulk_services.COLLECT_STEP, "collections": dunning_passes.CHUNK,
            "provisioning": provisioning_passes._due_chunk_size(), "terms": settings.ENGAGE_PAYMENT_TERMS_DAYS}


def run(step: str, as_of: date, args: list[str]) -> dict:
    profile = os.environ.get("BENCH_PROFILE") == "1"
    break_engine([name.strip() for name in os.environ.get("BENCH_BREAK", "").split(",") if name.strip()])
    if step == "chunks":
        return chunks()

    def timed(fn):
        if profile:
            result, seconds, top = _profile(fn)
            return result, seconds, top
        started = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - started, []

    if step == "billing":
        from billing.passes import billing_pass
        from statuses.rules import package_billing_statuses, usage_billing_statuses

        summary, seconds, top = timed(lambda: billing_pass(as_of=as_of))
        return {"seconds": seconds, "summary": summary.as_dict(), "profile": top,
                "truth": {"packages": package_billing_statuses(), "usage": usage_billing_statuses()}}
    if step == "due":
        from accounts.passes import apply_due_status_changes

        counts, seconds, top = timed(lambda: apply_due_status_changes(as_of=as_of))
        return {"seconds": seconds, "counts": counts, "profile": top}
    if step == "collections":
        from dunning.passes import collections_for_day

        # The collections pass's own day (the copy's other passes of the day are the floor's business).
        result, seconds, top = timed(lambda: collections_for_day(as_of=as_of))
        return {"seconds": seconds, "days": [result], "profile": top}
    if step == "bulk":
        return bulk(as_of, int(args[0]), timed)
    if step == "single":
        return single(as_of, int(args[0]))
    if step == "load_setup":
        return load_setup(as_of, int(args[0]))
    if step == "provisioning":
        from provisioning.passes import provisioning_pass

        summary, seconds, top = timed(lambda: provisioning_pass(as_of=as_of))
        # Then again: nothing changed since, so no drift and nothing to do.
        again, again_seconds, _ = timed(lambda: provisioning_pass(as_of=as_of))
        return {"seconds": seconds, "done": summary.done, "failed": summary.failed, "drift_jobs": summary.drift_jobs,
                "profile": top, "again": {"seconds": again_seconds, "done": again.done, "drift_jobs": again.drift_jobs}}
    if step == "pass_on_workers":
        return pass_on_workers(as_of, args[0])
    if step == "pages":
        from .pages import measure

        return measure(as_of, *args)
    raise SystemExit(f"unknown step {step}")


def _bulk_request(as_of: date, n: int):
    """The bulk step's request: the first `n` active accounts (as the floor picks them), suspended now with
    a prorated credit, reason Non-payment, note "bench"."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import Account
    from statuses.models import AccountStatusType, StatusReason

    user, _ = get_user_model().objects.get_or_create(username="bench-bulk")
    user.groups.add(Group.objects.get(name="Administrators"))
    ids = list(Account.objects.filter(status_type__backend_status="active").order_by("pk")
               .values_list("pk", flat=True)[:n])
    suspended = AccountStatusType.objects.filter(backend_status="suspended").order_by("pk").first()
    reason = StatusReason.objects.get(name="Non-payment")
    return user, ids, {"to_type": suspended, "option": "immediately_with_prorated_transaction", "reason": reason,
                       "note": "bench"}


def bulk(as_of: date, n: int, timed) -> dict:
    """From the request to the last history row: accounts.bulk job (submitted, not a dry run, then run to
    the end as its Celery task would), else the engine's batch entry point 1,000 accounts at a time, else
    nothing (the code has no bulk change)."""
    from django.db import transaction

    from accounts.models import StatusChange

    user, ids, request = _bulk_request(as_of, n)
    try:
        from accounts.bulk import services as bulk_module
    except ImportError:
        bulk_module = None
    try:
        from accounts.engine import change_status_batch
    except ImportError:
        change_status_batch = None
    if bulk_module is not None:
        how = "accounts.bulk.services: bulk_change_submit + bulk_change_run"
        if hasattr(bulk_module, "today"):
            bulk_module.today = lambda: as_of

        def go():
            numbers = _numbers(ids)
            submitted = bulk_module.bulk_change_submit(actor=user, csv_numbers=numbers, dry_run=False, on=as_of,
                                                       **request)
            job = submitted[0] if isinstance(submitted, tuple) else submitted
            job = bulk_module.bulk_change_run(job.pk)
            return {"state": job.state, "result": job.result}
    elif change_status_batch is not None:
        how = "accounts.engine.change_status_batch, 1,000 accounts a call"

        def go():
            for i in range(0, len(ids), 1000):
                with transaction.atomic():
                    change_status_batch(account_ids=ids[i:i + 1000], actor=user, on=as_of, dry_run=False, **request)
            return {"state": "done", "result": None}
    else:
        return {"available": False, "how": "none: one account at a time"}
    outcome, seconds, top = timed(go)
    applied = StatusChange.objects.filter(note="bench", state="applied").count()
    return {"available": True, "how": how, "seconds": seconds, "applied": applied, "profile": top, **outcome}


def pass_on_workers(as_of: date, queue: str) -> dict:
    """Queue the scheduled billing pass on `queue` and wait until its PassRun row is finished."""
    from billing.tasks import billing_pass_task
    from engage.models import PassRun

    started = time.perf_counter()
    billing_pass_task.apply_async(args=[as_of.isoformat()], queue=queue)
    deadline = time.monotonic() + float(os.environ.get("BENCH_WORKERS_TIMEOUT", "3600"))
    while time.monotonic() < deadline:
        run = PassRun.objects.filter(name="billing", as_of=as_of, finished_at__isnull=False).order_by("-pk").first()
        if run is not None:
            seconds = time.perf_counter() - started
            parts = getattr(run, "parts", None)
            return {"seconds": seconds, "succeeded": run.succeeded, "processed": run.processed, "failed": run.failed,
                    "parts": parts}
        time.sleep(0.1)
    raise SystemExit("the billing pass on the workers did not finish in time")


def _numbers(ids):
    # Ticked rows stop at 1,000 on the page: a selection this large comes as a file of account numbers.
    from accounts.models import Account

    return list(Account.objects.filter(pk__in=ids).order_by("pk").values_list("number", flat=True))


def single(as_of: date, n: int) -> dict:
    """The same suspension, one account at a time through account_change_status (what code without a bulk
    change offers): a rate per second."""
    from accounts.engine import account_change_status

    user, ids, request = _bulk_request(as_of, n)
    started = time.perf_counter()
    for pk in ids:
        account_change_status(account_id=pk, actor=user, **request)
    seconds = time.perf_counter() - started
    return {"accounts": len(ids), "seconds": seconds, "per_second": round(len(ids) / seconds, 1)}


def load_setup(as_of: date, per_user: int) -> dict:
    """Step 5's data: an API token, and for each of 8 clients its own active accounts; the type and reason
    ids the clients post."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import Account
    from engage.tokens import make_token
    from statuses.models import AccountStatusType, StatusReason

    user, _ = get_user_model().objects.get_or_create(username="bench-load")
    user.groups.add(Group.objects.get(name="Administrators"))
    _, key = make_token(user, name="bench load")
    ids = list(Account.objects.filter(status_type__backend_status="active").order_by("-pk")
               .values_list("pk", flat=True)[:8 * per_user])
    types = {t: AccountStatusType.objects.filter(backend_status=t).order_by("pk").first().pk
             for t in ("active", "suspended")}
    reasons = {"suspended": StatusReason.objects.get(name="Non-payment").pk,
               "active": StatusReason.objects.get(name="Payment received").pk}
    return {"token": key, "accounts": [ids[i::8] for i in range(8)], "types": types, "reasons": reasons,
            "today": as_of.isoformat()}

if __name__ == "__main__":
    step, as_of_text, *rest = sys.argv[1:]
    print(json.dumps(run(step, date.fromisoformat(as_of_text), rest), default=str))
