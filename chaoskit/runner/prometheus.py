"""The run's own Prometheus: Debian's ``prometheus``, scraping every instance, for PromQL probes.

With ``observability: {prometheus: true}`` the environment starts one once the
instances are healthy, and stops it at teardown before them. It binds
127.0.0.1 on a free port, reads a config written into the run folder
(``prometheus/prometheus.yml``), keeps its TSDB and its log there too, and sends
nothing anywhere (no remote write, no alerting). Every instance is one static
target — a replacement keeps its instance's ports, so nothing needs
rediscovering — labelled ``instance``, ``service``, ``zone`` and ``region``
with chaoskit's names, the same the bundled targets put on their own samples.

Why the start waits for a first scrape of every target, not only ``/-/ready``
    Prometheus answers ``/-/ready`` within a fraction of a second, but hands its
    targets to the scrape loops only on its discovery manager's 5 s tick, so the
    first sample lands ~5-6 s after start whatever ``scrape_interval`` says (no
    flag changes it in 2.42). A baseline read before then would see an empty
    vector and call the system not steady.

The process leads its own process group, carries the run's marker and is in the
state file from the moment it exists, so ``chaoskit rollback`` stops it after a
runner that was SIGKILLed (see :mod:`chaoskit.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from chaoskit.errors import ChaoskitError
from chaoskit.httpclient import http_client
from chaoskit.model.topology import Topology
from chaoskit.platform.base import Launch
from chaoskit.platform.deployment import HOST, free_ports
from chaoskit.state import RunState

BINARY_ENV = "CHAOSKIT_PROMETHEUS"
"""A path to the ``prometheus`` binary to use instead of the one on PATH."""

SCRAPE_INTERVAL = 1.0
"""Seconds between two scrapes of one target: probes read rates over a few seconds."""

START_TIMEOUT = 30.0
"""Seconds to ``/-/ready`` and then to a first scrape of every target."""

STOP_GRACE = 5.0
"""Seconds between SIGTERM (Prometheus flushes its head block) and SIGKILL."""

FIELD = "observability.prometheus"


class PrometheusError(ChaoskitError):
    """The run's Prometheus could not be found, started or stopped (exit 4)."""


@dataclass(frozen=True)
class ScrapeTarget:
    """One instance's metrics endpoint."""

    launch: Launch
    port: int
    path: str

    @property
    def address(self) -> str:
        return f"{self.launch.host}:{self.port}"


def find_prometheus() -> str:
    """The binary to run: ``$CHAOSKIT_PROMETHEUS``, else ``prometheus`` on PATH."""
    configured = os.environ.get(BINARY_ENV)
    found = configured if configured and os.access(configured, os.X_OK) else (
        None if configured else shutil.which("prometheus"))
    if found is None:
        where = f"{BINARY_ENV}={configured!r} is not an executable" if configured else (
            "no `prometheus` on PATH")
        raise PrometheusError(f"{FIELD}: the experiment asks for a Prometheus, but {where}; "
                              "install Debian's package `prometheus` (apt-get install "
                              "prometheus) or set observability.prometheus: false")
    return found


def scrape_targets(topology: Topology | None, launches: Sequence[Launch]) -> list[ScrapeTarget]:
    """Every instance whose service has a metrics endpoint (by default its first port's
    ``/metrics``; ``metrics: none`` leaves a service out)."""
    if topology is None:
        return []
    targets = []
    for launch in launches:
        endpoint = topology.service(launch.instance.service).metrics
        if endpoint is None:
            continue
        port = launch.ports[endpoint.port] if endpoint.port else launch.port
        targets.append(ScrapeTarget(launch, port, endpoint.path))
    return targets


def render_config(targets: Sequence[ScrapeTarget]) -> str:
    """``prometheus.yml``: one job per service, one static target per instance."""
    interval = f"{SCRAPE_INTERVAL:g}s"
    jobs: dict[str, dict[str, object]] = {}
    for target in targets:
        instance = target.launch.instance
        job = jobs.setdefault(instance.service, {
            "job_name": instance.service, "metrics_path": target.path,
            "static_configs": [],
            # The target's labels are chaoskit's; a sample that names its own
            # instance/service/zone/region (the bundled targets do, identically)
            # would otherwise come back doubled as exported_*.
            "metric_relabel_configs": [{"action": "labeldrop",
                                        "regex": "exported_(instance|service|zone|region)"}],
        })
        static: list[dict[str, object]] = job["static_configs"]  # type: ignore[assignment]
        labels = {"instance": instance.id, "service": instance.service,
                  "zone": instance.zone, "region": instance.region}
        if target.path != job["metrics_path"]:  # one service, one path; kept per target anyway
            labels["__metrics_path__"] = target.path
        static.append({"targets": [target.address], "labels": labels})
    config = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval,
                   "evaluation_interval": interval},
        "scrape_configs": list(jobs.values()),
    }
    return yaml.safe_dump(config, sort_keys=False)


class PrometheusServer:
    """A running Prometheus: its URL, and how long it took to be ready and to scrape."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, folder: Path,
                 state: RunState | None, targets: Sequence[ScrapeTarget]) -> None:
        self.process = process
        self.url = url
        self.folder = folder
        self.targets = tuple(targets)
        self._state = state
        self._started = time.monotonic()
        self.ready_seconds: float | None = None
        """From the spawn to ``/-/ready`` answering 200."""
        self.scraping_seconds: float | None = None
        """From the spawn to a first sample of every target."""

    @property
    def log(self) -> Path:
        return self.folder / "prometheus.log"

    @classmethod
    async def start(cls, topology: Topology | None, launches: Sequence[Launch], *,
                    folder: Path, state: RunState | None = None,
                    binary: str | None = None, timeout: float = START_TIMEOUT,
                    scraped: bool = True) -> PrometheusServer:
        """Start Prometheus scraping ``launches``; return once every target was scraped
        (or, without ``scraped``, once it is ready: call :meth:`wait_scraping` later).

        ``folder`` (created) receives the config, the TSDB and the log.
        """
        binary = binary or find_prometheus()
        targets = scrape_targets(topology, launches)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        config.write_text(render_config(targets))
        (port,) = free_ports(1)
        url = f"http://{HOST}:{port}"
        with (folder / "prometheus.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                binary, f"--config.file={config.resolve()}",
                f"--storage.tsdb.path={(folder / 'data').resolve()}",
                f"--web.listen-address={HOST}:{port}",
                "--storage.tsdb.retention.time=1d", "--log.level=info",
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                # Its own group (a Ctrl-C reaches the runner, which stops it in order),
                # and the run marker, so rollback finds it even before the pid is recorded.
                start_new_session=True, cwd=str(folder),
                env=state.spawn_env() if state is not None else None)
        if state is not None:
            state.add_process(process.pid, "prometheus")
        server = cls(process, url, folder, state, targets)
        try:
            await server._wait_ready(timeout)
            if scraped:
                await server.wait_scraping(timeout)
        except BaseException:
            await server.close()
            raise
        return server

    async def _wait_ready(self, timeout: float) -> None:
        deadline = self._started + timeout
        async with http_client(timeout=1.0) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/-/ready")).status_code == 200:
                        self.ready_seconds = time.monotonic() - self._started
                        return
                self._check_alive()
                if time.monotonic() > deadline:
                    raise PrometheusError(f"{FIELD}: Prometheus at {self.url} was not ready "
                                          f"within {timeout:g}s (see {self.log})")
                await asyncio.sleep(0.05)

    async def wait_scraping(self, timeout: float = START_TIMEOUT) -> None:
        """Return once every target was scraped at least once (up or not)."""
        expected = {t.launch.instance.id for t in self.targets}
        if not expected:
            self.scraping_seconds = self.ready_seconds
            return
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        async with http_client(timeout=2.0) as http:
            while True:
                # ``up`` exists once a target was scraped, up or not: a scrape that
                # failed is still a scrape (the instance's own health is the platform's).
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    answer = await http.get(f"{self.url}/api/v1/query", params={"query": "up"})
                    seen = {r["metric"].get("instance", "")
                            for r in answer.json()["data"]["result"]}
                    if expected <= seen:
                        self.scraping_seconds = time.monotonic() - self._started
                        return
                self._check_alive()
                if time.monotonic() > deadline:
                    missing = ", ".join(sorted(expected - seen))
                    raise PrometheusError(f"{FIELD}: Prometheus at {self.url} had not scraped "
                                          f"{missing} within {timeout:g}s (see {self.log})")
                await asyncio.sleep(0.1)

    def _check_alive(self) -> None:
        if self.process.returncode is not None:
            tail = ""
            with contextlib.suppress(OSError):
                tail = self.log.read_text(errors="replace").strip().splitlines()[-1]
            raise PrometheusError(f"{FIELD}: Prometheus exited with {self.process.returncode} "
                                  f"at start: {tail} (see {self.log})")

    async def close(self) -> None:
        """SIGTERM, then SIGKILL after :data:`STOP_GRACE`; forget it in the state file."""
        process = self.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        if self._state is not None:
            self._state.remove_process(process.pid)
