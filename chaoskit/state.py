"""The run state file and the run marker: everything a run started, so nothing survives it.

Each run writes ``<state dir>/<run id>.json`` listing its runner pid, the
processes (with their kernel start time, so a recycled pid is never killed),
the Docker engines it used and the containers on them, and the proxies it
created on an external proxy server. The file is written before the run's
first spawn (:meth:`RunState.spawn_env`, :meth:`RunState.add_engine`),
rewritten on every change, and deleted when the run has cleaned up.

When the runner itself dies (SIGKILL), ``chaoskit rollback`` — and the start
of the next ``chaoskit run`` — reads the files of dead runners and stops what
they list, and also what they could not list yet.

Why a run marker, and not only the pid list
    A pid is known only once the process exists, so "record, then the process
    may be lost" is impossible: between ``fork`` and the write of its pid the
    runner can be SIGKILLed (issue 9: a sixth gateway, spawned 4 s into setup,
    was missed). So every child chaoskit starts carries ``CHAOSKIT_RUN=<run
    id>`` in its environment from its ``execve`` on, and inherits it to its own
    children (uvicorn workers, Locust, anything an instance forks). Rollback
    finds them in ``/proc/<pid>/environ`` whatever the moment of the kill, and
    also catches grandchildren that left their process group. Containers carry
    the label ``chaoskit.run=<run id>`` from their ``create`` call, and the
    engine is recorded before that call, so rollback lists them by label on
    every engine the run used. The pid list stays: it is exact (start times),
    it names what was killed, and it kills whole process groups at once.

    The marker's one gap is the instant between ``fork`` and ``exec``, when the
    child is still a copy of the runner; rollback therefore scans again until
    a scan finds nothing. A program that wipes its environment before forking
    (``env -i``) drops the marker; its process group still goes with the
    recorded leader.

Why not PR_SET_PDEATHSIG (children dying with the runner)
    It fires when the *thread* that forked exits, not the process: the pytest
    plugin runs its loop in a background thread, and a restart supervisor's
    spawn would die with whatever thread happened to fork it. It reaches only
    direct children, never grandchildren or containers (which are the
    engine's children, not ours), so rollback would still need the marker. It
    needs ``preexec_fn``, which CPython documents as unsafe in a threaded
    process (the runner has worker threads) and which disables the fast
    ``vfork`` spawn. And processes that vanish on their own leave rollback
    nothing to report: a SIGKILLed runner's instances stay up, as a crashed
    orchestrator's would, until ``chaoskit rollback`` or the next run removes
    them and says what it removed.

The state dir is ``$CHAOSKIT_STATE_DIR``, by default ``~/.local/state/chaoskit``.
It is created by the first write, never by a rollback that only looks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

RUN_ENV = "CHAOSKIT_RUN"
"""The environment variable naming the run every process chaoskit starts belongs to."""

RUN_LABEL = "chaoskit.run"
"""The label naming the run every container (and network) chaoskit creates belongs to."""

SWEEP_TIMEOUT = 5.0
"""Seconds rollback keeps scanning for a dead run's marked processes before giving up."""


def state_dir(*, create: bool = True) -> Path:
    default = Path.home() / ".local" / "state" / "chaoskit"
    path = Path(os.environ.get("CHAOSKIT_STATE_DIR", str(default)))
    if create:
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
    engines: list[str] = field(default_factory=list)
    """Docker engines the run may have created containers on ("" is the default engine),
    recorded before the first create: rollback lists each one's containers by label."""
    containers: list[ContainerRecord] = field(default_factory=list)
    networks: list[ContainerRecord] = field(default_factory=list)
    proxies: list[ProxyRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._written = False
        if not self.runner_start:
            self.runner_start = process_start_time(self.runner_pid) or 0

    @property
    def path(self) -> Path:
        return state_dir(create=False) / f"{self.run_id}.json"

    @property
    def marker(self) -> str:
        """``CHAOSKIT_RUN=<run id>``: the environment entry every child of the run carries."""
        return f"{RUN_ENV}={self.run_id}"

    def save(self) -> None:
        """Write the file now (with the runner's pid), even with nothing recorded yet."""
        with self._lock:
            self._save()

    def spawn_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a child about to be started: ``env`` (default: ours) plus
        the run marker, which its own children inherit.

        Call it right before spawning: it writes the state file first if the run
        has not written one yet, so a runner killed the moment after the fork
        still leaves a file that lets rollback find the child by its marker.
        """
        with self._lock:
            if not self._written:
                self._save()
        return {**(os.environ if env is None else env), RUN_ENV: self.run_id}

    def add_engine(self, engine: str) -> None:
        """Record a Docker engine before creating anything on it (idempotent)."""
        with self._lock:
            if engine in self.engines and self._written:
                return
            if engine not in self.engines:
                self.engines.append(engine)
            self._save()

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
            self._written = False

    def _save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        fd, tmp = tempfile.mkstemp(dir=state_dir(), prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, self.path)
        self._written = True

    @classmethod
    def load(cls, path: Path) -> RunState:
        data = json.loads(path.read_text())
        return cls(
            run_id=data["run_id"], runner_pid=data["runner_pid"],
            runner_start=data.get("runner_start", 0),
            engines=list(data.get("engines", [])),
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


def marked_processes(run_id: str) -> list[int]:
    """Pids of the live processes whose environment carries ``CHAOSKIT_RUN=<run_id>``.

    ``/proc/<pid>/environ`` is the environment the process was started with, which
    is what the marker is put in. Zombies (empty environ) are not listed: they are
    dead, only waiting for a parent to reap them.
    """
    entry = f"{RUN_ENV}={run_id}".encode()
    me = os.getpid()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if entry in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


def _environ_entry(pid: int, name: str) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    prefix = f"{name}=".encode()
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix):].decode(errors="replace")
    return None


def kill_marked(pid: int, run_id: str) -> bool:
    """SIGKILL ``pid`` if it still carries the run's marker; True if it was signalled.

    The pid is pinned with a pidfd before the marker is checked again, so a pid
    recycled between the scan and the kill is never signalled.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:
        # No pidfds (a kernel before 5.3, or a seccomp filter): check, then kill.
        if _environ_entry(pid, RUN_ENV) != run_id:
            return False
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            return True
        return False
    try:
        if _environ_entry(pid, RUN_ENV) != run_id:
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)


def _group_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[2])


def _describe_marked(pid: int) -> str:
    """What a marked process is, from the environment chaoskit gave it."""
    instance = _environ_entry(pid, "CHAOSKIT_INSTANCE")
    if instance:
        return f"instance {instance}"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        cmdline = ""
    return f"process {cmdline[:80]!r}" if cmdline else "process"


async def rollback(*, include_live: bool = False) -> list[str]:
    """Stop and remove what runs whose runner is dead left behind; one line per action.

    A paused (SIGSTOPped) instance is killed like any other: SIGKILL works on
    stopped processes. Containers and networks go through the Docker SDK,
    proxies through their API; either being unreachable is reported, not raised.
    A state file is kept when something of its run could not be stopped, so the
    next rollback tries again.
    """
    lines: list[str] = []
    folder = state_dir(create=False)
    if not folder.is_dir():
        return lines
    for path in sorted(folder.glob("*.json")):
        try:
            state = RunState.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            lines.append(f"{path}: unreadable state file, removed")
            path.unlink(missing_ok=True)
            continue
        if state.runner_alive() and not include_live:
            continue
        done, more = await _rollback_one(state)
        lines += more
        if done:
            path.unlink(missing_ok=True)
    return lines


async def _rollback_one(state: RunState) -> tuple[bool, list[str]]:
    """Clean up one dead run; (whether nothing of it is left, the lines to print)."""
    import asyncio

    lines = [f"run {state.run_id}: runner {state.runner_pid} is gone, cleaning up"]
    for record in state.processes:
        if kill_recorded(record):
            lines.append(f"  killed {record.role} (pid {record.pid})")
    lines += await _sweep_marked(state.run_id, {p.pid for p in state.processes})
    for proxy in state.proxies:
        lines.append(await asyncio.to_thread(_delete_proxy, proxy))
    docker_done = True
    if state.engines or state.containers or state.networks:
        docker_done, more = await asyncio.to_thread(_remove_docker, state)
        lines += more
    # Give the kernel a moment to reap, so callers can assert nothing is left.
    deadline = time.monotonic() + SWEEP_TIMEOUT
    while time.monotonic() < deadline and any(
        process_alive(p.pid, p.start_time or None) for p in state.processes
    ):
        await asyncio.sleep(0.05)
    left = marked_processes(state.run_id)
    if left:
        lines.append(f"  still alive after SIGKILL: pids {', '.join(map(str, left))}; "
                     "the state file is kept")
    return docker_done and not left, lines


async def _sweep_marked(run_id: str, recorded: set[int]) -> list[str]:
    """SIGKILL every process carrying the run's marker, scanning until none is left.

    The recorded groups were killed just before, so this mostly finds what the
    state file never listed: a process spawned as the runner died, a child that
    left its group. A scan that finds nothing is repeated once, 0.1 s later:
    a child caught between fork and exec shows its marker only after the exec.
    """
    import asyncio

    lines: list[str] = []
    signalled: set[int] = set()
    deadline = time.monotonic() + SWEEP_TIMEOUT
    quiet_scans = 0
    while quiet_scans < 2 and time.monotonic() < deadline:
        found = [pid for pid in marked_processes(run_id) if process_alive(pid)]
        fresh = [pid for pid in found if pid not in signalled]
        for pid in fresh:
            what, group = _describe_marked(pid), _group_of(pid)
            if kill_marked(pid, run_id):
                signalled.add(pid)
                # A member of a recorded group was killed with it just now.
                if pid not in recorded and group not in recorded:
                    lines.append(f"  killed {what} (pid {pid}, not in the state file: "
                                 f"found by {RUN_ENV})")
        quiet_scans = 0 if found else quiet_scans + 1
        await asyncio.sleep(0.1 if not found else 0.02)
    return lines


def _delete_proxy(proxy: ProxyRecord) -> str:
    import httpx

    try:
        httpx.delete(f"{proxy.api}/proxies/{proxy.name}", timeout=5)
    except httpx.HTTPError as error:
        return f"  could not delete proxy {proxy.name} at {proxy.api}: {error}"
    return f"  deleted proxy {proxy.name} at {proxy.api}"


def _remove_docker(state: RunState) -> tuple[bool, list[str]]:
    """Remove the run's containers and networks: those recorded, and any other carrying
    its label on an engine it used (created as the runner died). Blocking."""
    import docker

    lines: list[str] = []
    done = True
    engines = dict.fromkeys([*state.engines, *(r.engine for r in state.containers),
                             *(r.engine for r in state.networks)])
    for engine in engines:
        try:
            client = (docker.DockerClient(base_url=engine, timeout=10) if engine
                      else docker.from_env(timeout=10))
        except docker.errors.DockerException as error:
            lines.append(f"  could not reach docker engine {engine or 'default'}: {error}")
            done = False
            continue
        try:
            label = {"label": f"{RUN_LABEL}={state.run_id}"}
            containers = {r.id for r in state.containers if r.engine == engine}
            containers |= {c.id for c in client.containers.list(all=True, filters=label,
                                                                ignore_removed=True)}
            networks = {r.id for r in state.networks if r.engine == engine}
            networks |= {n.id for n in client.networks.list(filters=label)}
            for kind, ids in (("container", containers), ("network", networks)):
                for object_id in sorted(ids):
                    try:
                        if kind == "container":
                            client.containers.get(object_id).remove(force=True, v=True)
                        else:
                            client.networks.get(object_id).remove()
                        lines.append(f"  removed {kind} {object_id[:12]}")
                    except docker.errors.NotFound:
                        continue
                    except docker.errors.DockerException as error:
                        lines.append(f"  could not remove {kind} {object_id[:12]}: {error}")
                        done = False
        except docker.errors.DockerException as error:
            lines.append(f"  could not list docker engine {engine or 'default'}: {error}")
            done = False
        finally:
            client.close()
    return done, lines
