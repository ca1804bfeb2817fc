"""Five-ish requests per second per user to ``/ok`` on the test server."""

from locust import FastHttpUser, constant, task


class Viewer(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def ok(self) -> None:
        self.client.get("/ok", name="ok")
