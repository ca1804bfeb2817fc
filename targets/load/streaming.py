"""Viewers pressing play: the stream-start load every streaming experiment watches.

Each simulated viewer has a stable id (``X-User-Id``, which the edge uses to
pick a home region) and sends ``GET /play/{title}`` marked
``X-Priority: critical``. The ids are the same in every run (``viewer-0``,
``viewer-1``, ...: a fixed panel of viewers), so the split of users between
home regions is too: with the edge's hash, 10 of the first 20 (and 20 of 40)
are homed in each of ``netflix.yaml``'s two regions. Random ids made it a
coin toss per user (5 to 15 of 20 in one region), and with it how much of the
load a regional or zonal fault reached. Requests are all named ``play`` so the statistics
form one series. Any status but 200 is a failure, so a 5xx from the system
under test counts against the steady state.
"""

from __future__ import annotations

import itertools
import random

from locust import FastHttpUser, between, task

TITLES = ("stranger-things", "the-crown", "dark", "narcos", "ozark", "mindhunter",
          "black-mirror", "bojack", "the-witcher", "money-heist")


_NUMBERS = itertools.count()


class Viewer(FastHttpUser):
    wait_time = between(0.05, 0.15)
    network_timeout = 5.0
    connection_timeout = 2.0

    def on_start(self) -> None:
        self.user_id = f"viewer-{next(_NUMBERS)}"

    @task
    def play(self) -> None:
        title = random.choice(TITLES)
        headers = {"X-Priority": "critical", "X-User-Id": self.user_id}
        with self.client.get(f"/play/{title}", name="play", headers=headers,
                             catch_response=True) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"play answered {response.status_code}")
