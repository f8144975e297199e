"""The app's side of each measurement, run in its own process with DATABASE_URL set to the copy under test:
`python -m bench.app <step> <as-of> [args]` prints one JSON object (seconds, queries, what it did)."""

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from datetime import date

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def _profile(fn):
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = fn()
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(10)
    top = [line.strip() for line in out.getvalue().splitlines() if line.strip()[:1].isdigit()][:10]
    return result, seconds, top


def run(step: str, as_of: date, args: list[str]) -> dict:
    profile = os.environ.get("BENCH_PROFILE") == "1"

    def timed(fn):
        if profile:
            result, seconds, top = _profile(fn)
            return result, seconds, top
        started = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - started, []

    if step == "truth":
        from statuses.rules import package_billing_statuses, usage_billing_statuses

        return {"packages": package_billing_statuses(), "usage": usage_billing_statuses()}
    if step == "billing":
        from billing.passes import billing_pass

        summary, seconds, top = timed(lambda: billing_pass(as_of=as_of))
        return {"seconds": seconds, "summary": summary.as_dict(), "profile": top}
    if step == "due":
        from accounts.status_changes import apply_due_status_changes

        counts, seconds, top = timed(lambda: apply_due_status_changes(as_of=as_of))
        return {"seconds": seconds, "counts": counts, "profile": top}
    if step == "bulk":
        from django.contrib.auth import get_user_model

        from accounts import bulk
        from accounts.models import Account, StatusChange
        from statuses.models import AccountStatusType, StatusReason

        bulk.today = lambda: as_of
        n = int(args[0])
        user = get_user_model().objects.create_user("bench-bulk")
        ids = list(Account.objects.filter(status_type__backend_status="active").order_by("pk")
                   .values_list("pk", flat=True)[:n])
        suspended = AccountStatusType.objects.filter(backend_status="suspended").order_by("pk").first()
        reason = StatusReason.objects.get(name="Non-payment")

        def go():
            # From the request to the last history row: the job written, then run to the end.
            job, _created = bulk.bulk_change_submit(actor=user, **_selection(ids), to_type=suspended,
                                                    option="immediately_with_prorated_transaction", reason=reason,
                                                    note="bench", dry_run=False, on=as_of)
            return bulk.bulk_change_run(job.pk)

        job, seconds, top = timed(go)
        applied = StatusChange.objects.filter(note="bench", state="applied").count()
        return {"seconds": seconds, "state": job.state, "applied": applied, "result": job.result, "profile": top}
    if step == "provisioning":
        from provisioning.passes import provisioning_pass

        summary, seconds, top = timed(lambda: provisioning_pass(as_of=as_of))
        return {"seconds": seconds, "done": summary.done, "failed": summary.failed,
                "drift_jobs": summary.drift_jobs, "profile": top}
    if step == "pages":
        return pages(as_of)
    raise SystemExit(f"unknown step {step}")


def _selection(ids):
    # Ticked rows are capped at 1,000 on the page; the harness hands the ids over as a file's numbers would be.
    from accounts.models import Account

    numbers = list(Account.objects.filter(pk__in=ids).order_by("pk").values_list("number", flat=True))
    return {"csv_numbers": numbers}


PAGES = [
    ("sidebar", "/accounts/?q=00000001"),
    ("list", "/accounts/"),
    ("search_common", "/accounts/?q=Homer"),
    ("search_rare", "/accounts/?q=Zebulon"),
    ("filter", "/accounts/?backend_status=suspended"),
    ("deep_page", None),
    ("overview", None),
    ("statistics_page", "/statistics/?start={start}&end={end}"),
    ("statistics_api", "/api/v1/statistics/?start={start}&end={end}"),
]


def pages(as_of: date) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.models import Account

    user = get_user_model().objects.create_user("bench-admin")
    user.groups.add(Group.objects.get(name="Administrators"))
    client = Client()
    client.force_login(user)
    ids = list(Account.objects.order_by("-pk").values_list("pk", flat=True)[:1])
    middle = Account.objects.order_by("pk").values_list("pk", flat=True)[Account.objects.count() // 2]
    start, end = (as_of - timedelta(days=89)).isoformat(), as_of.isoformat()
    results = {}
    for name, path in PAGES:
        if name == "deep_page":
            path = f"/accounts/?after={middle}"
        elif name == "overview":
            path = f"/accounts/{ids[0]}/"
        path = path.format(start=start, end=end)
        times, queries = [], 0
        for _ in range(6):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            queries = len(captured)
        results[name] = {"path": path, "ms": round(statistics.median(times[1:]) * 1000, 1), "queries": queries}
    return results


if __name__ == "__main__":
    step, as_of_text, *rest = sys.argv[1:]
    print(json.dumps(run(step, date.fromisoformat(as_of_text), rest), default=str))
