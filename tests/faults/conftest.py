"""Fault injection: real Celery workers (solo pool, a queue of their own) that the tests SIGKILL in the
middle of a pass, and fast seeding of tens of thousands of rows with bulk inserts.

A worker is started like tests/accounts/test_celery_worker.py starts one, except that what it sends
itself (status e-mails, provisioning jobs handed over on commit) goes to a queue of the test too
(`<queue>.out`) instead of the broker's default queue, so that the test can delete every message it
caused when it ends. Its output goes to a file, shown when the test fails.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# The worker is `celery -A engage worker`, with the default queue of what it sends renamed first.
WORKER_MAIN = (
    "import sys\n"
    "from engage.celery import app\n"
    "app.conf.task_default_queue = sys.argv[1]\n"
    "app.worker_main(sys.argv[2:])\n"
)

WORKER_APP_NAME = "engage-fault-worker"

# The marks of a test that runs real worker processes against PostgreSQL and Redis.
WORKER_TEST = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One worker process; `kill()` is SIGKILL: no warm shutdown, no ack, the open transaction is lost."""

    def __init__(self, queue: str, log: Path, extra_env: dict | None = None):
        self.queue = queue
        self.log = log
        env = {
            **os.environ,
            **(extra_env or {}),
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PGAPPNAME": WORKER_APP_NAME,  # libpq names the worker's sessions: the tests wait for those only
        }
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN, f"{queue}.out",
             "worker", "--pool=solo", "-Q", queue, "--loglevel=warning", "--without-heartbeat",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, task, *args) -> None:
        task.apply_async(args=list(args), queue=self.queue)

    def kill(self) -> None:
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(20)
        self._out.close()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(20)
        self._out.close()

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class Workers:
    """Starts workers on one queue of this test; whatever is still running at the end is killed."""

    def __init__(self, tmp_path: Path):
        self.queue = f"engage-faults-{uuid.uuid4().hex[:8]}"
        self.tmp_path = tmp_path
        self.started: list[Worker] = []

    def start(self, **extra_env: str) -> Worker:
        worker = Worker(self.queue, self.tmp_path / f"worker-{len(self.started) + 1}.log", extra_env)
        self.started.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.started:
            try:
                worker.kill()
            except Exception:  # noqa: BLE001 - best effort; the next one must still be killed
                pass
        _forget_queues([self.queue, f"{self.queue}.out"])

    def sent(self) -> list[tuple[str, str]]:
        """(task name, its arguments' repr) of every message the workers sent themselves (on commit of
        what they did: status e-mails, provisioning jobs), in the order they were sent."""
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)
        messages = []
        for raw in reversed(client.lrange(f"{self.queue}.out", 0, -1)):  # LPUSHed: newest first
            headers = json.loads(raw).get("headers", {})
            messages.append((headers.get("task"), headers.get("argsrepr")))
        return messages

    def outputs(self) -> str:
        return "\n".join(f"--- worker {i + 1} (pid {w.pid}) ---\n{w.output()}" for i, w in enumerate(self.started))


def _forget_queues(queues: list[str]) -> None:
    """Delete the test's queues, their bindings and the unacknowledged messages of the killed workers
    (acks_late: a SIGKILLed worker's message stays 'unacked' in Redis until the visibility timeout)."""
    try:
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)
        for queue in queues:
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
            for priority in range(1, 10):
                client.delete(f"{queue}\x06\x16{priority}")
        for tag, payload in client.hgetall("unacked").items():
            try:
                routing_key = json.loads(payload)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key in queues:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    except Exception:  # noqa: BLE001 - cleaning the broker must never fail a test
        pass


@pytest.fixture
def workers(tmp_path, request):
    """Real Celery workers for this test; the tasks the test sends go to the broker, not eagerly."""
    from engage.celery import app

    app.conf.task_always_eager = False
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(pool.outputs())
        pool.close()
        wait_for_other_backends_to_end()
        app.conf.task_always_eager = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def other_backends() -> int:
    """The fault workers' sessions on the test database (a killed worker's lingers a moment). Other
    sessions (a live server thread of an earlier test, say) are not theirs and are not waited for."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [WORKER_APP_NAME],
        )
        return cursor.fetchone()[0]


def wait_for_other_backends_to_end(timeout: float = 20) -> int:
    """Wait until PostgreSQL has ended the sessions of the killed workers (rolling back what they had
    not committed and releasing their row locks); returns how many are still there."""
    deadline = time.monotonic() + timeout
    while (left := other_backends()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_for(predicate: Callable[[], object], *, timeout: float, worker: Worker | None = None,
              every: float = 0.02, what: str = "condition"):
    """Poll until predicate() is truthy; fail if the worker died on its own or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if worker is not None and not worker.alive():
            pytest.fail(f"the worker exited by itself while waiting for {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f":\n{worker.output()}" if worker else ""))
        time.sleep(every)


def kill_when(worker: Worker, count: Callable[[], int], threshold: int, *, timeout: float, what: str) -> int:
    """SIGKILL the worker as soon as count() reaches threshold; returns the count seen just before."""
    seen = wait_for(lambda: (n := count()) >= threshold and n, timeout=timeout, worker=worker, what=what)
    worker.kill()
    left = wait_for_other_backends_to_end()
    assert not left, f"{left} database sessions outlived the killed worker by 20s"
    return seen


def print_pass_runs(name: str) -> list:
    from engage.models import PassRun

    runs = list(PassRun.objects.filter(name=name).order_by("id"))
    print(f"\nPassRun rows of {name}:")
    for run in runs:
        print(
            f"  #{run.pk} as_of={run.as_of} started={run.started_at:%H:%M:%S.%f} "
            f"finished={run.finished_at and f'{run.finished_at:%H:%M:%S.%f}'} "
            f"heartbeat={getattr(run, 'heartbeat_at', None) and f'{run.heartbeat_at:%H:%M:%S.%f}'} "
            f"succeeded={run.succeeded} processed={run.processed} failed={run.failed} "
            f"detail={run.detail[:160]!r}"
        )
    return runs


# ---------------------------------------------------------------------------------------------- seeding


def status_types() -> dict:
    from statuses.models import AccountStatusType

    return {t.name: t for t in AccountStatusType.objects.all()}


def bulk_accounts(specs: list[tuple[int, str]], *, prefix: str) -> list:
    """Accounts from (bill day, status type name) pairs, in that order, with one INSERT per batch; their
    numbers as the product gives them (from the id); the counters are recounted afterwards."""
    from accounts.engine import recount_status_types
    from accounts.models import Account
    from accounts.services import assign_numbers

    types = status_types()
    accounts = Account.objects.bulk_create(
        [
            Account(name=f"{prefix} {i}", email=f"{prefix.lower()}{i}@example.com", bill_day=bill_day,
                    status_type=types[type_name])
            for i, (bill_day, type_name) in enumerate(specs)
        ],
        batch_size=5000,
    )
    assign_numbers()
    recount_status_types(fix=True)
    return accounts


def assert_counters_match_a_recount() -> None:
    from accounts.engine import recount_status_types

    assert recount_status_types(fix=False) == {}, "status type counters differ from a recount"
