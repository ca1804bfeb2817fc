"""Prime Day: a surge of low-priority browsing on top of the critical stream starts.

Two kinds of users, sent through the entry point:

- ``Viewer`` presses play (``GET /play/{title}``, name ``play``,
  ``X-Priority: critical``) — the goodput that must hold;
- ``Browser`` (three times as many) loads rows of recommendations
  (``GET /recommendations/{user}``, name ``recommendations``,
  ``X-Priority: low``) — the load that load shedding may refuse.

With load shedding on, the gateway refuses browsing fast (503, ``X-Shed``)
and stream starts keep their latency; without it, everything queues and the
critical path's p99 and goodput collapse. Steady-state probes should narrow to
``request: play``. A shed answer counts as a failure of ``recommendations``.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, between, task

TITLES = ("stranger-things", "the-crown", "dark", "narcos", "ozark", "mindhunter")
BROWSERS = 200
"""Browsing users come from a fixed pool, so recommendations can have (stale) answers."""


class Viewer(FastHttpUser):
    weight = 1
    wait_time = between(0.02, 0.08)
    network_timeout = 5.0
    connection_timeout = 2.0

    def on_start(self) -> None:
        self.user_id = f"viewer-{uuid.uuid4().hex[:8]}"

    @task
    def play(self) -> None:
        headers = {"X-Priority": "critical", "X-User-Id": self.user_id}
        with self.client.get(f"/play/{random.choice(TITLES)}", name="play", headers=headers,
                             catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"play answered {response.status_code}")


class Browser(FastHttpUser):
    weight = 3
    wait_time = between(0.01, 0.05)
    network_timeout = 5.0
    connection_timeout = 2.0

    @task
    def browse(self) -> None:
        user = f"browser-{random.randrange(BROWSERS)}"
        headers = {"X-Priority": "low", "X-User-Id": user}
        with self.client.get(f"/recommendations/{user}", name="recommendations",
                             headers=headers, catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            elif response.headers.get("X-Shed"):
                response.failure("shed")
            else:
                response.failure(f"recommendations answered {response.status_code}")
