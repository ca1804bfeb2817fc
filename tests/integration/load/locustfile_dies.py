"""Traffic to ``/ok`` for about three seconds, then this Locust process dies (SIGKILL).

What a Locust (or a worker) killed by the OOM killer or a crash looks like to the run.
"""

import os
import signal

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, events, task


class Viewer(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def ok(self) -> None:
        self.client.get("/ok", name="ok")


@events.test_start.add_listener
def _die_soon(**_: object) -> None:
    gevent.spawn_later(3, os.kill, os.getpid(), signal.SIGKILL)
