"""Members browsing their recommendation rows: the load of the stale-fallback experiments.

``GET /recommendations/{user}`` (name ``recommendations``) for users drawn from
a small fixed pool, so every recommendations instance soon holds a good answer
for each of them — the answer it serves, marked ``X-Cache: STALE``, when
ratings fails. A stale answer is a success (that is the point of the defence);
each one is also reported under the name ``recommendations (stale)`` so an
experiment can watch how much of the page was served from the fallback.
"""

from __future__ import annotations

import random
import time

from locust import FastHttpUser, between, task

MEMBERS = 50


class Member(FastHttpUser):
    wait_time = between(0.05, 0.15)
    network_timeout = 5.0
    connection_timeout = 2.0

    @task
    def browse(self) -> None:
        user = f"member-{random.randrange(MEMBERS)}"
        headers = {"X-User-Id": user}
        started = time.perf_counter()
        with self.client.get(f"/recommendations/{user}", name="recommendations",
                             headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"recommendations answered {response.status_code}")
                return
            response.success()
            if response.headers.get("X-Cache") == "STALE":
                self.environment.events.request.fire(
                    request_type="GET", name="recommendations (stale)",
                    response_time=(time.perf_counter() - started) * 1000,
                    response_length=0, response=None, context={}, exception=None)
