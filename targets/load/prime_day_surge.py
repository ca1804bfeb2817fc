"""Prime Day, doors opening: ``prime_day.py``'s viewers and browsers, tripled mid-run.

Before the doors open the platform sees a normal day (``PRIME_DAY_CALM_USERS``,
default 100: one viewer to three browsers, within capacity); at
``PRIME_DAY_OPENS_AT`` seconds of Locust run time (default 20: after the warmup and
baseline of ``experiments/amazon_prime_day.yaml``) the crowd arrives at once,
``PRIME_DAY_SURGE`` times as many users (default 3), and stays. A Locust
shape decides the user count, so the experiment's ``users`` is not used.

A browser that is shed waits ``Retry-After`` before its next page, as browsers
and SDKs do: a refusal answered by an instant retry would turn shedding into
more load (the retry storm the Builders' Library warns about).
"""

from __future__ import annotations

import os
import random
import time

from locust import FastHttpUser, LoadTestShape, between, task
from prime_day import BROWSERS, Viewer

__all__ = ["Browser", "DoorsOpen", "Viewer"]

CALM_USERS = int(os.environ.get("PRIME_DAY_CALM_USERS", "100"))
SURGE = float(os.environ.get("PRIME_DAY_SURGE", "3"))
OPENS_AT = float(os.environ.get("PRIME_DAY_OPENS_AT", "20"))


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
                return
            shed = response.headers.get("X-Shed")
            response.failure("shed" if shed else
                             f"recommendations answered {response.status_code}")
            retry_after = response.headers.get("Retry-After")
        if shed and retry_after:
            time.sleep(float(retry_after))


class DoorsOpen(LoadTestShape):
    def tick(self) -> tuple[int, float]:
        opened = self.get_run_time() >= OPENS_AT  # type: ignore[no-untyped-call]
        users = int(CALM_USERS * SURGE) if opened else CALM_USERS
        return users, float(users)
