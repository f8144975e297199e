"""`make bench`: build the data set, measure each pass beside its floor on identical copies, and the pages at
1,000 and at the full size; print one table and write bench/results/latest.json. docs/bench.md says more."""

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import date
from pathlib import Path

from . import floors, load, workers
from .dataset import ROOT, build_pair, django_env
from .sql import PREFIX, copy, drop, psql, refuse_real_database, timed_psql

WORK = Path(os.environ.get("BENCH_WORK", "/tmp/engage-bench"))

RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))
# Issue 28's targets (on a quiet machine at 100,000 accounts): each pass beside its floor; the status-change API
# (requests a second, the 95th percentile, no error); the billing pass on two workers beside one.
TARGETS = {"billing_ratio": 1.5, "status_changes_ratio": 2.5, "bulk_change_ratio": 3.0, "provisioning_ratio": 2.5,
           "collections_ratio": 2.0}
API_TARGET = {"requests_per_second": 100.0, "p95_ms": 250.0}
WORKERS_TARGET = 1.6
PAGE_TARGET = 1.2
STEPS = ("billing", "status_changes", "provisioning", "bulk_change", "collections", "pages", "load", "workers")
SKIP = {s.strip() for s in os.environ.get("BENCH_SKIP", "").split(",") if s.strip()}
ONLY = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
NEEDS = {"status_changes": "provisioning"}  # the provisioning pass is measured on step 2a's copies
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
KEEP = os.environ.get("BENCH_KEEP") == "1"


def wanted(step: str) -> bool:
    """Whether a step runs: BENCH_ONLY names the steps that do (all when empty; the provisioning pass brings
    step 2a, which it runs on), BENCH_SKIP those that do not."""
    return (not ONLY or step in ONLY or NEEDS.get(step) in ONLY) and step not in SKIP


def why_not(step: str) -> str:
    return "skipped (BENCH_SKIP)" if step in SKIP else "skipped (not in BENCH_ONLY)"


def app(step: str, db: str, as_of: date, *args, env: dict | None = None) -> dict:
    """Run one of bench.app's steps in its own process against `db`; its JSON answer."""
    done = subprocess.run([sys.executable, "-m", "bench.app", step, as_of.isoformat(), *map(str, args)], cwd=ROOT,
                          env=env or django_env(db), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"bench.app {step} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_into(figures: dict, step: str, db: str | None, as_of: date) -> None:
    """With BENCH_PROFILE=1 (`db` then a copy of its own: the timed run is not profiled), cProfile's top 10
    by cumulative time of a step under figures["profile"]; the copy is dropped."""
    if db is not None:
        figures["profile"] = app(step, db, as_of, env={**django_env(db), "BENCH_PROFILE": "1"})["profile"]
        discard(db)


def checksums(db: str) -> dict:
    """The checksums of every row a step may write (floors.CHECKSUMS), of the tables this code has."""
    present = set(psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename IN ("
                       + ", ".join(f"'{t}'" for t in [*floors.OPTIONAL, floors.DELTAS]) + ")", db).split())
    names, sql = floors.checksum_sql(present)
    return dict(zip(names, psql(sql, db).splitlines(), strict=True))


def compare(app_db: str, floor_db: str) -> dict:
    """Whether both copies hold the same rows; `differ` names the checksums that do not match."""
    mine, theirs = checksums(app_db), checksums(floor_db)
    return {"same_rows": mine == theirs, "differ": sorted(k for k in mine.keys() | theirs.keys()
                                                           if mine.get(k) != theirs.get(k))}


def ratio(app_seconds: float, floor_seconds: float) -> float:
    return round(app_seconds / floor_seconds, 2) if floor_seconds else None


def beside_floor(out: dict, key: str, run: dict, floor: float, app_db: str, floor_db: str, **figures) -> dict:
    """One pass measured beside its floor: its figures, the check that both wrote the same rows, and
    `<key>_ratio`."""
    out[key] = {"app_seconds": round(run["seconds"], 2), "floor_seconds": round(floor, 2), **figures,
                "check": compare(app_db, floor_db)}
    out[f"{key}_ratio"] = ratio(run["seconds"], floor)
    return out[key]


def discard(db: str) -> None:
    """Drop a copy once measured, at large sizes only (the disk holds a few at a time at 1,000,000 accounts);
    smaller ones wait for the end (each DROP DATABASE forces a checkpoint), or stay with BENCH_KEEP=1."""
    if not KEEP and int(os.environ.get("BENCH_ACCOUNTS", "1000000")) > 200_000:
        drop(db)


def measure(n: int, as_of: date, dbs: list[str], out: dict) -> dict:
    def new(name, template):
        made = copy(template, f"{PREFIX}_{name}")  # refused (and left alone) when not the harness's
        dbs.append(made)
        return made

    started = time.perf_counter()
    for db in (f"{PREFIX}_full", f"{PREFIX}_small", f"{PREFIX}_schema"):
        refuse_real_database(db)
    dbs += [f"{PREFIX}_full", f"{PREFIX}_small", f"{PREFIX}_schema"]
    full, small, _schema = build_pair(PREFIX, n, as_of)
    out["dataset_seconds"] = round(time.perf_counter() - started, 1)
    # The passes' chunk sizes, read from the code: each floor works in the same chunks.
    chunks = out["chunks"] = {**floors.CHUNKS, **app("chunks", full, as_of)}
    laps = out.setdefault("step_seconds", {})
    clock = [time.perf_counter()]

    def lap(name):  # the harness's own time per step (copies, both runs, checks): where the minutes go
        now = time.perf_counter()
        laps[name] = round(now - clock[0], 1)
        clock[0] = now

    # 1. The billing pass for one period.
    billed = floor_db = None
    if wanted("billing"):
        billed, floor_db = new("billing_app", full), new("billing_floor", full)
        run = app("billing", billed, as_of)
        if run["truth"] != {"packages": ["active"], "usage": ["active"]}:
            print(f"warning: the floors assume that only active bills; the truth table says {run['truth']}",
                  file=sys.stderr)
        floor = timed_psql(floors.billing(as_of, chunks), floor_db)
        beside_floor(out, "billing", run, floor, billed, floor_db, lines=run["summary"]["lines"],
                     invoices=run["summary"]["invoices"])
        profile_into(out["billing"], "billing", new("billing_profile", full) if PROFILE else None, as_of)
    elif any(wanted(step) for step in ("status_changes", "bulk_change", "collections")):
        # The later passes start from a billed copy: billed by the floor (the same rows, as step 1 checks).
        billed = new("billed", full)
        psql(floors.billing(as_of, chunks), billed)
    lap("billing")

    # 2a. Applying k due dated changes (suspensions, prorated, dated the as-of day), after that billing.
    k = int(os.environ.get("BENCH_CHANGES", 0)) or min(100_000, n * 7 // 20)
    if wanted("status_changes"):
        base = new("due_base", billed)
        psql(floors.fill(floors.DUE_DATA, as_of=as_of, n=k), base)  # k pending, dated as_of
        due_app, due_floor = new("due_app", base), new("due_floor", base)
        run = app("due", due_app, as_of)
        floor = timed_psql(floors.due(as_of, chunks), due_floor)
        beside_floor(out, "status_changes", run, floor, due_app, due_floor, changes=k,
                     per_second=round(k / run["seconds"]), counts=run["counts"])
        profile_into(out["status_changes"], "due", new("due_profile", base) if PROFILE else None, as_of)
        lap("status_changes")

        # 3. The provisioning pass with the k changed accounts' jobs, then again with nothing to do (no drift).
        if wanted("provisioning"):
            run = app("provisioning", due_app, as_of)
            floor = timed_psql(floors.provisioning(chunks), due_floor)
            idle = run["again"]
            beside_floor(out, "provisioning", run, floor, due_app, due_floor, jobs=k, done=run["done"],
                         failed=run["failed"], no_drift_seconds=round(idle["seconds"], 2),
                         no_drift_jobs=idle["drift_jobs"])
        for db in (base, due_app, due_floor):
            discard(db)
        lap("provisioning")

    # 2b. A bulk change of the same k accounts, from the request to the last history row.
    if wanted("bulk_change"):
        bulk_app = new("bulk_app", billed)
        psql(floors.BULK_USER, bulk_app)  # who asks, on both copies alike (the change rows and the job name it)
        run = app("bulk", bulk_app, as_of, k)
        if run["available"]:
            bulk_floor = new("bulk_floor", billed)
            psql(floors.BULK_USER, bulk_floor)
            floor = timed_psql(floors.bulk(as_of, k, chunks), bulk_floor)
            beside_floor(out, "bulk_change", run, floor, bulk_app, bulk_floor, accounts=k, how=run["how"],
                         per_second=round(k / run["seconds"]), state=run["state"], applied=run["applied"])
            discard(bulk_floor)
        else:
            single = app("single", bulk_app, as_of, min(2000, k))
            out["bulk_change"] = {"available": False, "how": run["how"],
                                  "one_at_a_time": {k2: round(v, 2) for k2, v in single.items()}}
            out["bulk_change_ratio"] = None
        discard(bulk_app)
        lap("bulk_change")

    # 7. The collections pass: 5 % of the accounts overdue for 20 days, suspended by the step at 14 days.
    if wanted("collections"):
        base = new("collections_base", billed)
        psql(floors.fill(floors.COLLECTIONS_DATA, as_of=as_of), base)
        coll_app, coll_floor = new("collections_app", base), new("collections_floor", base)
        run = app("collections", coll_app, as_of)
        floor = timed_psql(floors.collections(as_of, chunks), coll_floor)
        day = run["days"][-1]
        beside_floor(out, "collections", run, floor, coll_app, coll_floor,
                     overdue_accounts=day["overdue_accounts"], overdue_amount=day["overdue_amount"],
                     applied=day.get("applied", 0), passed_over=day.get("passed_over", 0),
                     per_second=round(day["overdue_accounts"] / run["seconds"]), days=run["days"])
        profile_into(out["collections"], "collections", new("collections_profile", base) if PROFILE else None,
                     as_of)
        for db in (base, coll_app, coll_floor):
            discard(db)
        lap("collections")
    if billed is not None:
        discard(billed)

    # 4. Pages at 1,000 and at the full size, with history in proportion.
    if wanted("pages"):
        measured = app("pages", full, as_of, new("pages_small", small), new("pages_full", full))
        measured.pop("accounts")
        out["pages"] = measured
        for name, page in measured.items():
            out[f"{name}_ratio"] = page["ratio"]
        # The names the issue asks for: the list's ratio is its worst case (first page, searches, filter, deep pages).
        list_pages = ("list", "search_common", "search_rare", "filter", "deep_page", "deep_page_by_name")
        out["list_ratio"] = max(measured[p]["ratio"] for p in list_pages)
        out["statistics_ratio"] = max(measured[p]["ratio"] for p in ("statistics_page", "statistics_api"))
        out["pages_queries_constant"] = all(p["queries_small"] == p["queries_full"] for p in measured.values())
        for db in (f"{PREFIX}_pages_small", f"{PREFIX}_pages_full"):
            discard(db)
        lap("pages")

    # 5. The status-change API under 8 clients for 30 s (gunicorn + locust).
    if not wanted("load"):
        out["load"] = {"available": False, "why": why_not("load")}
    else:
        load_db = new("load", full)
        setup = app("load_setup", load_db, as_of, 250)
        out["load"] = load.run(load_db, setup, WORK / "load")
        discard(load_db)
    lap("load")

    # 6. The billing pass with 1 and with 2 Celery workers.
    if not wanted("workers"):
        out["workers"] = {"available": False, "why": why_not("workers")}
    else:
        if floor_db is None:  # what the workers' result is checked against: step 1's floor
            floor_db = new("billing_floor", full)
            psql(floors.billing(as_of, chunks), floor_db)
        runs = {}
        for c in (1, 2):
            db = new(f"workers_{c}", full)
            runs[c] = workers.run(db, c, as_of, app, WORK / "workers")
            runs[c]["same_rows_as_floor"] = compare(db, floor_db)["same_rows"]
            discard(db)
        out["workers"] = {"one_worker_seconds": round(runs[1]["seconds"], 2),
                          "two_workers_seconds": round(runs[2]["seconds"], 2), "runs": list(runs.values())}
        out["workers_speedup_ratio"] = ratio(runs[1]["seconds"], runs[2]["seconds"])
    lap("workers")
    return out


def _met(value, target, extra: bool = True) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= target and extra else "missed"


PASSES = ("billing", "status_changes", "bulk_change", "provisioning", "collections")


def wrong(out: dict) -> list[str]:
    """The steps whose app wrote other rows than their floor (a finding, whatever the ratio): the passes whose
    check failed, and the workers when a run's rows differ from the billing floor's."""
    found = [key for key in PASSES if isinstance(out.get(key), dict) and "check" in out[key]
             and not out[key]["check"]["same_rows"]]
    if any(not r["same_rows_as_floor"] for r in out.get("workers", {}).get("runs", [])):
        found.append("workers")
    return found


def table(out: dict) -> str:
    rows = [("work", "app", "floor", "ratio", "target", "same rows")]
    for key, label in (("billing", "billing pass"), ("status_changes", "applying due changes"),
                       ("bulk_change", "bulk change"), ("provisioning", "provisioning pass"),
                       ("collections", "collections pass")):
        part = out.get(key)
        if not isinstance(part, dict):
            rows.append((label, "not measured", "", "", "", ""))
        elif "app_seconds" not in part:
            rows.append((label, "not available", "", "", "", ""))
            if "one_at_a_time" in part:
                one = part["one_at_a_time"]
                rows.append(("  one at a time", f"{one['per_second']}/s", "", "", "", f"({one['accounts']} accounts)"))
        else:
            ratio, target, same = out[f"{key}_ratio"], TARGETS[f"{key}_ratio"], part["check"]["same_rows"]
            rows.append((label, f"{part['app_seconds']} s", f"{part['floor_seconds']} s", f"{ratio}×",
                         f"≤ {target}× {_met(ratio, target) if same else 'wrong'}",
                         str(same) if same else f"False: {', '.join(part['check']['differ'])}"))
        if key == "provisioning" and isinstance(part, dict) and "no_drift_seconds" in part:
            rows.append(("provisioning, no drift", f"{part['no_drift_seconds']} s", "", "", "", ""))
    for name, page in out.get("pages", {}).items():
        flat = page["queries_small"] == page["queries_full"]
        rows.append((f"page {name}", f"{page['small_ms']} → {page['full_ms']} ms",
                     f"{page['queries_small']} → {page['queries_full']} q", f"{page['ratio']}×",
                     f"≤ {PAGE_TARGET}×, same q {_met(page['ratio'], PAGE_TARGET, flat)}", ""))
    load_out = out.get("load", {})
    if load_out.get("available"):
        fast = (load_out["requests_per_second"] >= API_TARGET["requests_per_second"]
                and load_out["p95_ms"] < API_TARGET["p95_ms"])
        rows.append(("status-change API, 8 clients", f"{load_out['requests_per_second']} req/s",
                     f"p50 {load_out['p50_ms']} ms", f"p95 {load_out['p95_ms']} ms",
                     f"≥ {API_TARGET['requests_per_second']:.0f}/s, p95 < {API_TARGET['p95_ms']:.0f} ms, 0 errors "
                     f"{'met' if fast and load_out['errors'] == 0 else 'missed'}", f"{load_out['errors']} errors"))
    else:
        rows.append(("status-change API, 8 clients", "not measured", load_out.get("why", ""), "", "", ""))
    work = out.get("workers", {})
    if "one_worker_seconds" in work:
        speedup = out["workers_speedup_ratio"]
        same = all(r["same_rows_as_floor"] for r in work["runs"])
        verdict = "wrong" if not same else "met" if speedup and speedup >= WORKERS_TARGET else "missed"
        rows.append(("billing on Celery workers", f"1: {work['one_worker_seconds']} s",
                     f"2: {work['two_workers_seconds']} s", f"{speedup}× faster", f"≥ {WORKERS_TARGET}× {verdict}",
                     str(same)))
    else:
        rows.append(("billing on Celery workers", "not measured", work.get("why", ""), "", "", ""))
    if out.get("error"):
        rows.append(("stopped by an error", out["error"].strip().splitlines()[-1][:100], "", "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def commit() -> str:
    """The checked-out commit, read from .git (no git command)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:12]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except OSError:
        pass
    return "unknown"


def main() -> None:
    n = int(os.environ.get("BENCH_ACCOUNTS", "1000000"))
    as_of = date.fromisoformat(os.environ["BENCH_AS_OF"]) if os.environ.get("BENCH_AS_OF") else date.today()
    dbs: list[str] = []
    out: dict = {}
    started = time.perf_counter()
    try:
        measure(n, as_of, dbs, out)
    except Exception:  # what was measured is still written, with the error
        out["error"] = traceback.format_exc()[-4000:]
    finally:
        if not KEEP:
            for db in dict.fromkeys(dbs):
                drop(db)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "postgres": psql("SHOW server_version")},
        "accounts": n, "as_of": as_of.isoformat(), "commit": commit(), "code": str(ROOT),
        "seconds": round(time.perf_counter() - started, 1), **out, "wrong": wrong(out),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, default=str))
    print(table(result))
    print(f"\n{n:,} accounts, commit {result['commit']}, {result['seconds']} s; {RESULTS / 'latest.json'} written.")
    if out.get("error"):
        print(out["error"], file=sys.stderr)
        sys.exit(1)
    if result["wrong"]:  # the app did not write what its floor wrote: the ratios compare different work
        print(f"wrong rows: {', '.join(result['wrong'])} (see `check` in the JSON)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
