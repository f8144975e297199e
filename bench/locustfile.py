"""Step 5's clients (locust, headless): each of the 8 users posts status changes to its own accounts through
the API with a token, suspending an active account and enabling it again on its next turn, dated today, with
a reason. bench/load.py writes the setup (BENCH_LOAD_FILE) and starts gunicorn and locust."""

import itertools
import json
import os

from locust import HttpUser, constant, task

SETUP = json.loads(open(os.environ["BENCH_LOAD_FILE"]).read())
_slots = itertools.count()


class StatusChangeClient(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        mine = SETUP["accounts"][next(_slots) % len(SETUP["accounts"])]
        self.state = {pk: "active" for pk in mine}
        self.turn = itertools.cycle(mine)
        self.client.headers["Authorization"] = f"Token {SETUP['token']}"

    @task
    def change_status(self):
        pk = next(self.turn)
        to = "suspended" if self.state[pk] == "active" else "active"
        body = {"status_type": SETUP["types"][to], "option": "immediately_with_prorated_transaction",
                "reason": SETUP["reasons"][to], "note": "bench load"}
        with self.client.post(f"/api/v1/accounts/{pk}/status-changes/", json=body,
                              name="POST /api/v1/accounts/{id}/status-changes/", catch_response=True) as response:
            if response.status_code == 201:
                self.state[pk] = to
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
