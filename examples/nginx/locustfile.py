"""Visitors loading the front page through nginx (``--host`` is nginx's http port).

Every request is ``GET /`` named ``page``; anything but a 200 that carries an
app instance's page is a failure, so a 502 from nginx (an upstream it could
not reach and did not retry) counts against the steady state.
"""

from __future__ import annotations

from locust import HttpUser, between, task


class Visitor(HttpUser):
    wait_time = between(0.05, 0.15)

    @task
    def page(self) -> None:
        with self.client.get("/", name="page", timeout=(2.0, 5.0),
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"nginx answered {response.status_code}")
            elif "served by" not in response.text:
                response.failure("not an app page")
            else:
                response.success()
