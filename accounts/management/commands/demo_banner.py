"""`make run`'s last word: once the web server answers and the worker has worked off the demo's queue,
print where to go and the demo sign-ins, so they stay on screen instead of scrolling away above the
worker's and beat's start-up logs."""

import signal
import sys
import time
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand

from accounts.management.commands.seed_demo import USERS
from engage.celery import app


class Command(BaseCommand):
    help = "Wait for the web server, then print the demo sign-ins (a Procfile process of `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")
        parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server")

    def handle(self, *args, url, wait, **options):
        # honcho stops every process when one exits, and sends SIGTERM on Ctrl-C: end quietly then.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        deadline = time.monotonic() + wait
        while not (self._answers(url + "login/") and self._queue_empty()):
            if time.monotonic() > deadline:
                self.stderr.write(f"The web server did not answer at {url} within {wait:.0f} s.")
                break
            time.sleep(0.5)
        else:
            time.sleep(1)  # the worker logs the last tasks it took
            lines = [f"Engage is up: {url}", "Sign in as"]
            lines += [f"  {username} / {password}  ({group})" for username, password, group in USERS]
            lines.append("Ctrl-C stops the web server, the worker and beat.")
            width = max(len(line) for line in lines) + 4
            self.stdout.write(self.style.SUCCESS("=" * width))
            for line in lines:
                self.stdout.write(self.style.SUCCESS(f"  {line}"))
            self.stdout.write(self.style.SUCCESS("=" * width))
            self.stdout.flush()
        while True:
            signal.pause()

    @staticmethod
    def _queue_empty() -> bool:
        try:
            with app.connection_for_read() as conn:
                queue = conn.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
                return queue.message_count == 0
        except Exception:  # noqa: BLE001 - a broker that cannot tell must not keep the banner back
            return True

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            return False
