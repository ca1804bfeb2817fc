"""Customers paying, with the retries a real payment client makes.

Each logical payment gets ONE ``Idempotency-Key`` (a UUID made before the
first attempt) and is retried with that same key on a timeout, a connection
error, a 5xx or a 409 (the first attempt is still running), with capped
exponential backoff and jitter. Every attempt is reported as ``pay``; each
logical payment is also reported once as ``payment`` (success if one attempt
got a 2xx, its time the whole sequence), the number a steady state should use.

Whether a retry charged twice, or an acknowledged payment went missing, is not
visible to the client: the invariant probe reads the entry point's
``GET /audit`` (``violations`` = lost acknowledged payments + duplicate charges).
"""

from __future__ import annotations

import random
import time
import uuid

from locust import FastHttpUser, between, task

ATTEMPTS = 5
RETRYABLE = {0, 409, 500, 502, 503, 504}
"""0 is Locust's status for a timeout or a broken connection."""


class Payer(FastHttpUser):
    wait_time = between(0.05, 0.2)
    network_timeout = 3.0
    connection_timeout = 2.0

    def on_start(self) -> None:
        self.customer = f"cus-{uuid.uuid4().hex[:8]}"

    @task
    def pay(self) -> None:
        key = str(uuid.uuid4())
        body = {"amount": random.randint(100, 5000), "currency": "usd",
                "customer": self.customer}
        headers = {"Idempotency-Key": key, "X-Priority": "critical",
                   "X-User-Id": self.customer}
        started = time.perf_counter()
        paid, last = False, 0
        for attempt in range(ATTEMPTS):
            with self.client.post("/pay", json=body, headers=headers, name="pay",
                                  catch_response=True) as response:
                last = response.status_code
                if 200 <= last < 300:
                    response.success()
                    paid = True
                    break
                response.failure(f"pay answered {last}")
            if last not in RETRYABLE:
                break
            time.sleep(min(1.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.0))
        self.environment.events.request.fire(
            request_type="PAYMENT", name="payment",
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            response=None, context={},
            exception=None if paid else RuntimeError(f"not paid, last answer {last}"))
