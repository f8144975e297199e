"""Step 4: the pages at two sizes, in one process, request by request in turn on the small and the full
database (the connection is pointed at one, then the other), so that both sizes meet the same machine at the
same moment: server time (Django's test client, the whole request) and the number of queries.

`python -m bench.app pages <as-of> <small db> <full db>`; the sidebar is rendered on its own (it is on every
signed-in page), the others are requests."""

import os
import statistics
import time
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db import connection
from django.test.utils import CaptureQueriesContext

REPEATS = max(2, int(os.environ.get("BENCH_PAGE_REPEATS", "7")))  # per page and size; the first warms up


def _use(db: str) -> None:
    if connection.settings_dict["NAME"] != db:
        connection.close()
        connection.settings_dict["NAME"] = db
    connection.ensure_connection()


def _setup(as_of: date) -> dict:
    """On the database in use: a signed-in administrator, and the paths that depend on the data."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client, RequestFactory

    from accounts.models import Account

    user, _ = get_user_model().objects.get_or_create(username="bench-pages")
    user.groups.add(Group.objects.get(name="Administrators"))
    client = Client()
    client.force_login(user)
    count = Account.objects.count()
    middle = Account.objects.order_by("pk").values_list("pk", flat=True)[count // 2]
    by_name = Account.objects.order_by("name", "pk").values_list("name", "pk")[count // 2]
    # An account with history (a quarter changed status in the last 90 days: ids 1, 5, 9, …).
    with_history = Account.objects.filter(status_changes__isnull=False).order_by("-pk").values_list("pk", flat=True)[0]
    request = RequestFactory().get("/accounts/")
    request.user = get_user_model().objects.get(pk=user.pk)
    start, end = (as_of - timedelta(days=89)).isoformat(), as_of.isoformat()
    paths = {
        "list": "/accounts/",
        "search_common": "/accounts/?q=omer",
        "search_rare": "/accounts/?q=Zebulon",
        "filter": "/accounts/?backend_status=suspended",
        "deep_page": f"/accounts/?after={middle}",
        "deep_page_by_name": "/accounts/?" + urlencode({"sort": "name", "after": f"{by_name[0]}|{by_name[1]}"}),
        "overview": f"/accounts/{with_history}/",
        "statistics_page": f"/statistics/?start={start}&end={end}",
        "statistics_api": f"/api/v1/statistics/?start={start}&end={end}",
    }
    return {"client": client, "request": request, "paths": paths, "accounts": count}


def _sidebar(request) -> int:
    from django.template.loader import render_to_string

    from reporting.context_processors import sidebar

    html = render_to_string("includes/sidebar.html", sidebar(request), request=request)
    return len(html)


def measure(as_of: date, small_db: str, full_db: str) -> dict:
    sides = {}
    for side, db in (("small", small_db), ("full", full_db)):
        _use(db)
        sides[side] = _setup(as_of)
    names = ["sidebar", *sides["full"]["paths"]]
    out = {"accounts": {side: sides[side]["accounts"] for side in sides}}
    for name in names:
        times = {"small": [], "full": []}
        queries = {}
        for _ in range(REPEATS):
            for side, db in (("small", small_db), ("full", full_db)):
                _use(db)
                here = sides[side]
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    if name == "sidebar":
                        _sidebar(here["request"])
                        status = 200
                    else:
                        status = here["client"].get(here["paths"][name]).status_code
                    times[side].append(time.perf_counter() - started)
                if status != 200:
                    raise SystemExit(f"{here['paths'][name]} answered {status}")
                queries[side] = len(captured)
        small, full = (round(statistics.median(times[s][1:]) * 1000, 1) for s in ("small", "full"))
        out[name] = {"path": sides["full"]["paths"].get(name, "(rendered: includes/sidebar.html)"),
                     "small_ms": small, "full_ms": full, "ratio": round(full / small, 2) if small else None,
                     "queries_small": queries["small"], "queries_full": queries["full"]}
    return out
