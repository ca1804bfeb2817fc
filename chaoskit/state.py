"""The run state file: everything a run started, so nothing survives it.

Each run writes ``<state dir>/<run id>.json`` listing its runner pid, the
processes (with their kernel start time, so a recycled pid is never killed),
the containers, and the proxies it created on an external proxy server. The
file is rewritten on every change and deleted when the run has cleaned up.

When the runner itself dies (SIGKILL), ``chaoskit rollback`` — and the start
of the next ``chaoskit run`` — reads the files of dead runners and stops what
they list.

The state dir is ``$CHAOSKIT_STATE_DIR``, by default ``~/.local/state/chaoskit``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


def state_dir() -> Path:
    default = Path.home() / ".local" / "state" / "chaoskit"
    path = Path(os.environ.get("CHAOSKIT_STATE_DIR", str(default)))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ")".
    return stat[stat.rindex(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def process_alive(pid: int, start_time: int | None = None) -> bool:
    # One read for both the state and the start time: a second read could find
    # the process gone and raise instead of answering.
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return False
    return start_time is None or int(fields[19]) == start_time


@dataclass
class ProcessRecord:
    pid: int
    start_time: int
    role: str
    """What it is: "instance playback-us-east-1a-0", "load", "proxy-server"."""
    group: bool = True
    """Whether the process leads its own process group (kill the whole group)."""


@dataclass
class ContainerRecord:
    id: str
    engine: str = ""
    """DOCKER_HOST of the engine it runs on ("" for the default)."""


@dataclass
class ProxyRecord:
    api: str
    name: str


@dataclass
class RunState:
    """The state of one run, persisted at every change. Thread-safe."""

    run_id: str
    runner_pid: int = field(default_factory=os.getpid)
    runner_start: int = 0
    processes: list[ProcessRecord] = field(default_factory=list)
    containers: list[ContainerRecord] = field(default_factory=list)
    networks: list[ContainerRecord] = field(default_factory=list)
    proxies: list[ProxyRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        if not self.runner_start:
            self.runner_start = process_start_time(self.runner_pid) or 0

    @property
    def path(self) -> Path:
        return state_dir() / f"{self.run_id}.json"

    def add_process(self, pid: int, role: str, *, group: bool = True) -> None:
        with self._lock:
            self.processes.append(ProcessRecord(pid, process_start_time(pid) or 0, role, group))
            self._save()

    def remove_process(self, pid: int) -> None:
        with self._lock:
            self.processes = [p for p in self.processes if p.pid != pid]
            self._save()

    def add_container(self, container_id: str, engine: str = "") -> None:
        with self._lock:
            self.containers.append(ContainerRecord(container_id, engine))
            self._save()

    def remove_container(self, container_id: str) -> None:
        with self._lock:
            self.containers = [c for c in self.containers if c.id != container_id]
            self._save()

    def add_network(self, network_id: str, engine: str = "") -> None:
        with self._lock:
            self.networks.append(ContainerRecord(network_id, engine))
            self._save()

    def remove_network(self, network_id: str) -> None:
        with self._lock:
            self.networks = [n for n in self.networks if n.id != network_id]
            self._save()

    def add_proxy(self, api: str, name: str) -> None:
        with self._lock:
            self.proxies.append(ProxyRecord(api, name))
            self._save()

    def remove_proxy(self, api: str, name: str) -> None:
        with self._lock:
            self.proxies = [p for p in self.proxies if (p.api, p.name) != (api, name)]
            self._save()

    def close(self) -> None:
        """The run cleaned up after itself: forget the file."""
        with self._lock:
            self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        fd, tmp = tempfile.mkstemp(dir=state_dir(), prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, path: Path) -> RunState:
        data = json.loads(path.read_text())
        return cls(
            run_id=data["run_id"], runner_pid=data["runner_pid"],
            runner_start=data.get("runner_start", 0),
            processes=[ProcessRecord(**p) for p in data.get("processes", [])],
            containers=[ContainerRecord(**c) for c in data.get("containers", [])],
            networks=[ContainerRecord(**n) for n in data.get("networks", [])],
            proxies=[ProxyRecord(**p) for p in data.get("proxies", [])],
        )

    def runner_alive(self) -> bool:
        return process_alive(self.runner_pid, self.runner_start or None)


def kill_recorded(record: ProcessRecord) -> bool:
    """SIGKILL a recorded process (its group if it leads one), if it is still that process."""
    if not process_alive(record.pid, record.start_time or None):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if record.group:
            os.killpg(record.pid, signal.SIGKILL)
        else:
            os.kill(record.pid, signal.SIGKILL)
    return True


async def rollback(*, include_live: bool = False) -> list[str]:
    """Stop and remove what runs whose runner is dead left behind; one line per action.

    A paused (SIGSTOPped) instance is killed like any other: SIGKILL works on
    stopped processes. Containers and networks go through the Docker SDK,
    proxies through their API; either being unreachable is reported, not raised.
    """
    lines: list[str] = []
    for path in sorted(state_dir().glob("*.json")):
        try:
            state = RunState.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            lines.append(f"{path}: unreadable state file, removed")
            path.unlink(missing_ok=True)
            continue
        if state.runner_alive() and not include_live:
            continue
        lines += await _rollback_one(state)
        path.unlink(missing_ok=True)
    return lines


async def _rollback_one(state: RunState) -> list[str]:
    import asyncio

    lines = [f"run {state.run_id}: runner {state.runner_pid} is gone, cleaning up"]
    for record in state.processes:
        if kill_recorded(record):
            lines.append(f"  killed {record.role} (pid {record.pid})")
    for proxy in state.proxies:
        lines.append(await asyncio.to_thread(_delete_proxy, proxy))
    if state.containers or state.networks:
        lines += await asyncio.to_thread(_remove_docker, state)
    # Give the kernel a moment to reap, so callers can assert nothing is left.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        process_alive(p.pid, p.start_time or None) for p in state.processes
    ):
        await asyncio.sleep(0.05)
    return lines


def _delete_proxy(proxy: ProxyRecord) -> str:
    import httpx

    try:
        httpx.delete(f"{proxy.api}/proxies/{proxy.name}", timeout=5)
    except httpx.HTTPError as error:
        return f"  could not delete proxy {proxy.name} at {proxy.api}: {error}"
    return f"  deleted proxy {proxy.name} at {proxy.api}"


def _remove_docker(state: RunState) -> list[str]:
    import docker

    lines = []
    clients: dict[str, docker.DockerClient] = {}  # one connection per engine, not per record
    for record in [*state.containers, *state.networks]:
        try:
            if record.engine not in clients:
                clients[record.engine] = (
                    docker.DockerClient(base_url=record.engine, timeout=10) if record.engine
                    else docker.from_env(timeout=10))
            client = clients[record.engine]
            if record in state.containers:
                client.containers.get(record.id).remove(force=True, v=True)
                lines.append(f"  removed container {record.id[:12]}")
            else:
                client.networks.get(record.id).remove()
                lines.append(f"  removed network {record.id[:12]}")
        except docker.errors.NotFound:
            continue
        except docker.errors.DockerException as error:
            lines.append(f"  could not remove {record.id[:12]}: {error}")
    for client in clients.values():
        client.close()
    return lines
