"""Like ``locustfile_ok``, but every request is named after the Locust process sending it,
so a merged sample shows which workers' traffic it holds."""

import os

from locust import FastHttpUser, constant, task


class Viewer(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def ok(self) -> None:
        self.client.get("/ok", name=f"ok from {os.getpid()}")
