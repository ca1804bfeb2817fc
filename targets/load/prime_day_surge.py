"""Prime Day, doors opening: the shoppers arrive at once while viewers keep pressing play.

Two kinds of users, sent through the entry point:

- ``Viewer`` presses play (``GET /play/{title}``, name ``play``,
  ``X-Priority: critical``) every 0.2-0.4 s: the goodput that must hold. Their
  number is fixed (``PRIME_DAY_VIEWERS``, default 12: about 30 plays/s);
- ``Browser`` loads a row of recommendations (``GET /recommendations/{user}``,
  name ``recommendations``, ``X-Priority: low``) every 0.2-0.6 s: the load
  that load shedding may refuse. A calm day has ``PRIME_DAY_CALM_BROWSERS``
  (default 20: about 40 pages/s); at ``PRIME_DAY_OPENS_AT`` seconds of Locust
  run time (default 18: after the warmup and baseline of
  ``experiments/amazon_prime_day.yaml``) the crowd pours in within two
  seconds, ``PRIME_DAY_SURGE`` times as many browsers (default 10), and stays.

Offered load, against the capacity that ``targets/prime_day.yaml`` gives the
gateway (16 workers x 100 ms = 160 requests/s): a calm day offers about
30 + 40 = 70 requests/s (under half of it); the surge, 200 browsers each
wanting a page every 0.4 s, about 500 + 30 = 530 requests/s, 3.3 times it.
These are counts of users and think times, not of CPU, so the surge is the
same overload on any machine that can run 212 Locust users at ~160 requests/s.

A browser that is shed waits ``Retry-After`` before its next page, as browsers
and SDKs do: a refusal answered by an instant retry would turn shedding into
more load (the retry storm the Builders' Library warns about). A Locust shape
decides the user count, so the experiment's ``users`` is not used.
"""

from __future__ import annotations

import os
import random
import time

import prime_day
from locust import FastHttpUser, LoadTestShape, between, task
from prime_day import BROWSERS

__all__ = ["Browser", "DoorsOpen", "Viewer"]

VIEWERS = int(os.environ.get("PRIME_DAY_VIEWERS", "12"))
CALM_BROWSERS = int(os.environ.get("PRIME_DAY_CALM_BROWSERS", "20"))
SURGE = float(os.environ.get("PRIME_DAY_SURGE", "10"))
OPENS_AT = float(os.environ.get("PRIME_DAY_OPENS_AT", "18"))


class Viewer(prime_day.Viewer):
    """prime_day's viewer at a human pace, in a fixed number (the module import, not the
    class, keeps Locust from also running the base class)."""

    fixed_count = VIEWERS
    wait_time = between(0.2, 0.4)


class Browser(FastHttpUser):
    wait_time = between(0.2, 0.6)
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
        browsers = round(CALM_BROWSERS * SURGE) if opened else CALM_BROWSERS
        users = VIEWERS + browsers
        # Everyone arrives within 2 s: at once, but without stalling Locust itself
        # (spawning 180 users in one go held every user's clock for ~0.5 s on a busy
        # machine, and that showed as play latency the platform never caused).
        return users, users / 2
