"""A run context with no processes, and an in-process HTTP server answering canned replies."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chaoskit.context import RunContext
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import History
from chaoskit.model.topology import Instance, RestartPolicy
from chaoskit.platform.base import InstanceState, InstanceStatus, Launch

Reply = tuple[int, str, str]  # status, content type, body
Handler = Callable[[str, dict[str, str]], Reply]


def json_reply(body: Any, status: int = 200) -> Reply:
    return status, "application/json", json.dumps(body)


@dataclass
class FakeHttp:
    """A loopback HTTP server whose replies come from ``handler(path, query)``."""

    handler: Handler
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def fake_http(handler: Handler) -> Iterator[FakeHttp]:
    fake = FakeHttp(handler)

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            fake.requests.append((parts.path, query))
            status, kind, body = fake.handler(parts.path, query)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class StaticPlatform:
    """A platform whose instances are in the states given, and do nothing."""

    def __init__(self, statuses: Sequence[InstanceStatus]) -> None:
        self.statuses = list(statuses)

    def status(self) -> list[InstanceStatus]:
        return list(self.statuses)


def launch(service: str, index: int, ports: dict[str, int], *, zone: str = "z1",
           region: str = "r1") -> Launch:
    instance = Instance(id=f"{service}-{index}", service=service, zone=zone, region=region,
                        index=index)
    return Launch(instance=instance, argv=("true",), env={}, cwd=".", ports=ports,
                  restart=RestartPolicy())


def context(tmp: Path, launches: Sequence[Launch] = (), *,
            states: dict[str, InstanceState] | None = None,
            prometheus_url: str = "") -> RunContext:
    states = states or {}
    statuses = [InstanceStatus(instance=x.instance,
                               state=states.get(x.instance.id, InstanceState.UP),
                               address=x.address) for x in launches]
    experiment = Experiment.model_validate({
        "title": "probes",
        "steady_state": [{"name": "up", "probe": "http", "url": "http://127.0.0.1:1/",
                          "tolerance": {"min": 1}}],
    })
    return RunContext(experiment=experiment, platform=StaticPlatform(statuses),  # type: ignore[arg-type]
                      launches=list(launches), history=History(), run_dir=tmp,
                      rng=random.Random(1), prometheus_url=prometheus_url)
