"""The docker platform: the same :class:`~chaoskit.platform.base.Platform`, on containers.

Every instance is one container named ``chaoskit-<run>-<instance>`` and labelled
``chaoskit.run``, ``chaoskit.service``, ``chaoskit.zone``, ``chaoskit.region``
and ``chaoskit.instance``. The engine is written to the run state file before
the first container is created on it, and each container id the moment it is
created, so ``chaoskit rollback`` removes it after a SIGKILLed runner — also a
container created as the runner died, before its id could be written: rollback
lists every engine the run used by the ``chaoskit.run`` label (see
:mod:`chaoskit.state`); :func:`run_containers` finds them by label as well.

Networking
    ``network_mode="host"``: an instance listens on ``127.0.0.1:<port>`` exactly
    as under the local platform, so the environment contract (``CHAOSKIT_HOST``,
    ``CHAOSKIT_PORT``, upstream URLs on 127.0.0.1) holds unchanged and the proxy
    fabric's links work as they are. No docker network is created; network
    faults (``isolate``) go through the proxies. The price: a zone on another
    *machine's* engine is not reachable at 127.0.0.1 (see Engines).

Kill and replacement
    ``kill`` is a real crash: the container's main process (``State.Pid``) is
    SIGKILLed from the host, after checking through ``/proc/<pid>/cgroup`` that
    the pid is that container's. An API ``kill`` is the fallback when the pid is
    not visible here (an engine in another pid namespace); Docker treats that as
    a manual stop, which makes no difference below. Containers are created with
    restart policy ``no`` and *chaoskit* replaces them, like an auto-scaling
    group: Docker's restart policies have no delay setting, and the topology's
    ``restart.delay`` must hold. A supervisor task lists the run's containers
    (one call per engine, every 0.2 s); a container that exited while it should
    be up is marked down and, under policy ``always``, started again (the same
    container: same id, logs, data mounts) after ``restart.delay``, then counts
    as up once its health URL answers 2xx. ``kill(hold=True)`` suspends that
    until :meth:`DockerPlatform.restore`. ``pause``/``resume`` are
    ``docker pause``/``unpause`` (the cgroup freezer: alive, sockets open).

Engines
    ``engines`` maps a zone name (or ``"global"``) to a Docker engine URL, e.g.
    ``{"us-east-1a": "unix:///var/run/docker.sock", "us-east-1b":
    "ssh://docker@host-b"}``; unmapped zones use the default engine
    (``DOCKER_HOST`` / ``docker.from_env()``). The topology carries it as
    ``docker: {engines: {...}}``. Health URLs and upstream URLs stay
    ``127.0.0.1:<port>``, so every engine must share the runner's network
    namespace: several sockets of one machine's engine, or engines reached over
    a tunnel that forwards the ports. The ``bind`` image strategy also needs
    the host's files (see :mod:`chaoskit.platform.docker_image`).

Start
    Every container is created first, then started in waves derived from the
    launches' ``CHAOSKIT_UPSTREAMS``: a wave starts once all its upstreams are
    healthy. The image strategy (a ``targets/Dockerfile`` build or the
    bind-mounted fallback, see :mod:`chaoskit.platform.docker_image`) is chosen
    once for every engine of the run, each engine getting its own copy, and
    reported per engine through ``say`` and ``<logs_dir>/docker-platform.log``.

Teardown
    ``close`` saves each container's log to ``<logs_dir>/<instance>.log`` and
    removes the container (``force``: SIGKILL, then remove with its anonymous
    volumes), then removes anything else still labelled with the run id.
    Images are kept: they are content-addressed and reused by the next run.

Every engine call runs in a worker thread (``asyncio.to_thread``) on a client
with a 30 s timeout, so the event loop never blocks on the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.types import LogConfig

from chaoskit.errors import PlatformError
from chaoskit.platform.base import InstanceState, InstanceStatus, Launch
from chaoskit.platform.deployment import child_environment
from chaoskit.platform.docker_crash import crash_from_host
from chaoskit.platform.docker_image import (
    EngineUnavailable,
    RuntimeImage,
    container_argv,
    container_environment,
    container_mounts,
    ensure_images,
)
from chaoskit.platform.health import HealthCheck, keep_watching
from chaoskit.state import RUN_LABEL, RunState

ENGINE_ERRORS = (docker.errors.DockerException, OSError)
"""What an engine call raises: the SDK's errors, and requests' timeouts and connection
errors (``RequestException`` is an ``OSError``)."""
ENGINE_TIMEOUT = 30.0
"""Seconds any one engine call may take before it fails (docker-py's request timeout)."""
POLL_INTERVAL = 0.2
HEALTH_INTERVAL = 0.05
INSPECT_INTERVAL = 0.5
"""While waiting for health, how often the engine is asked whether the container died."""
DEFAULT_ENGINE = ""
"""The key of the default engine (``docker.from_env()``), as recorded in the state file."""


def engine_client(engine: str) -> docker.DockerClient:
    """A client for ``engine`` ("" is the environment's default engine)."""
    if engine == DEFAULT_ENGINE:
        return docker.from_env(timeout=int(ENGINE_TIMEOUT))
    return docker.DockerClient(base_url=engine, timeout=int(ENGINE_TIMEOUT))


def run_containers(client: docker.DockerClient, run_id: str) -> list[Any]:
    """Every container of ``run_id`` on ``client``'s engine, running or not. Blocking."""
    return list(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"},
                                       ignore_removed=True))


def container_name(run_id: str, instance_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"chaoskit-{run_id}-{instance_id}")


@dataclass
class _Instance:
    """The live state of one instance; changed only on the event loop."""

    launch: Launch
    engine: str
    container_id: str = ""
    state: InstanceState = InstanceState.STARTING
    since: float = field(default_factory=time.monotonic)
    """When ``state`` last changed: engine snapshots older than this are stale."""
    restarts: int = 0
    held: bool = False
    dying: bool = False
    """Being killed by :meth:`DockerPlatform.kill` right now."""
    replacing: asyncio.Task[None] | None = None
    unhealthy: bool = False
    """Up, but failing its health checks now (watched for the whole run)."""
    watch: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.launch.instance.id

    @property
    def shown_state(self) -> InstanceState:
        if self.state == InstanceState.UP and self.unhealthy:
            return InstanceState.UNHEALTHY
        return self.state

    def set(self, state: InstanceState) -> None:
        self.state = state
        self.since = time.monotonic()


class DockerPlatform:
    """Runs each instance in a container; kills are host-side SIGKILLs; chaoskit replaces.

    ``engines`` maps zone → engine URL (see the module docstring); ``base_image``
    overrides ``$CHAOSKIT_DOCKER_BASE_IMAGE`` / ``python:3.11-slim``; ``say``
    receives one-line notes for the run output (which image strategy is used),
    which also go to ``<logs_dir>/docker-platform.log``.
    """

    name = "docker"

    def __init__(
        self,
        state: RunState,
        run_id: str,
        logs_dir: Path,
        *,
        engines: Mapping[str, str] | None = None,
        base_image: str | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.state = state
        self.run_id = run_id
        self.logs_dir = logs_dir
        self.engines = dict(engines or {})
        self.base_image = base_image
        self._say = say
        self._clients: dict[str, docker.DockerClient] = {}
        self._images: dict[str, RuntimeImage] = {}
        self._instances: dict[str, _Instance] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False

    # -- the protocol -------------------------------------------------------

    async def start(self, launches: Sequence[Launch], *, timeout: float = 60.0) -> None:
        """Start service by service in the order given; return when all are healthy.

        On failure every container of the run is removed and the error quotes the
        failing instance's last output.
        """
        deadline = time.monotonic() + timeout
        self._closed = False
        try:
            for launch in launches:
                if launch.instance.id in self._instances:
                    raise PlatformError(f"instance {launch.instance.id} is already started")
                self._instances[launch.instance.id] = _Instance(
                    launch, self._engine_for(launch.instance.zone))
            await self._choose_images(sorted({i.engine for i in self._instances.values()}))
            todo = [self._instances[launch.instance.id] for launch in launches]
            # Every container is created up front (the engine's share of the work),
            # then started in waves so dependencies are up before their callers.
            await asyncio.gather(*(self._create(inst) for inst in todo))
            for batch in start_waves(todo):
                await asyncio.gather(*(self._start_first(inst) for inst in batch))
                # A service's instances are awaited together, for its own ready_timeout.
                ready = min(deadline, time.monotonic()
                            + max(inst.launch.ready_timeout for inst in batch))
                await asyncio.gather(*(self._await_healthy(inst, ready) for inst in batch))
        except BaseException:
            try:
                await self._shutdown()
            except PlatformError as cleanup:
                # The start's own error is the one to report; the state file stays.
                self._note(f"cleanup after a failed start: {cleanup}")
            raise
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="docker-supervisor")

    async def kill(self, ids: Sequence[str], *, hold: bool = False) -> None:
        chosen = self._lookup(ids)
        for inst in chosen:
            inst.dying = True  # the supervisor is not to report these as crashes
            if hold:
                inst.held = True
                self._cancel_replacement(inst)

        async def one(inst: _Instance) -> None:
            try:
                await self._crash(inst)
            finally:
                inst.dying = False
            self._on_death(inst)

        await asyncio.gather(*(one(inst) for inst in chosen))

    async def restore(self, ids: Sequence[str], *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        chosen = self._lookup(ids)
        for inst in chosen:
            inst.held = False
        await asyncio.gather(*(self._bring_up(inst, deadline) for inst in chosen))

    async def pause(self, ids: Sequence[str]) -> None:
        chosen = self._lookup(ids)
        for inst in chosen:
            if inst.state not in (InstanceState.UP, InstanceState.PAUSED):
                raise PlatformError(f"cannot pause {inst.id}: it is {inst.state}")
        await asyncio.gather(*(self._call(inst, "pause") for inst in chosen
                               if inst.state == InstanceState.UP))
        for inst in chosen:
            inst.set(InstanceState.PAUSED)

    async def resume(self, ids: Sequence[str]) -> None:
        chosen = [inst for inst in self._lookup(ids) if inst.state == InstanceState.PAUSED]
        await asyncio.gather(*(self._call(inst, "unpause") for inst in chosen))
        for inst in chosen:
            inst.set(InstanceState.UP)

    def status(self) -> list[InstanceStatus]:
        return [
            InstanceStatus(instance=inst.launch.instance, state=inst.shown_state,
                           address=inst.launch.address, restarts=inst.restarts,
                           held=inst.held, handle=inst.container_id,
                           extra={"engine": inst.engine or "default",
                                  "image": self._images[inst.engine].ref
                                  if inst.engine in self._images else ""})
            for inst in self._instances.values()
        ]

    async def close(self) -> None:
        await self._shutdown()
        self.state.close()

    # -- helpers ------------------------------------------------------------

    def _engine_for(self, zone: str) -> str:
        # "global" instances have the pseudo-zone GLOBAL, so it is mapped like a zone.
        return self.engines.get(zone, DEFAULT_ENGINE)

    def _client(self, engine: str) -> docker.DockerClient:
        if engine not in self._clients:
            self._clients[engine] = engine_client(engine)
        return self._clients[engine]

    def _note(self, message: str) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with (self.logs_dir / "docker-platform.log").open("a") as out:
            out.write(f"{time.strftime('%H:%M:%S')} {message}\n")
        if self._say is not None:
            self._say(message)
        else:
            print(f"chaoskit: {message}", file=sys.stderr)

    async def _choose_images(self, engines: Sequence[str]) -> None:
        """The image on every engine the run uses: one strategy for all (ensure_images)."""
        if all(engine in self._images for engine in engines):
            return  # chosen by an earlier start of this platform
        clients = {}
        for engine in engines:
            try:
                clients[engine] = await asyncio.to_thread(self._client, engine)
            except ENGINE_ERRORS as error:
                raise PlatformError(f"docker engine {engine or 'default'}: {error}") from error
        try:
            images = await asyncio.to_thread(ensure_images, clients, self.base_image)
        except EngineUnavailable as error:
            raise PlatformError(f"docker engine {error}") from error.cause
        for engine, image in images.items():
            if self._images.get(engine) != image:
                self._note(f"docker engine {engine or 'default'}: {image.describe()}")
        self._images.update(images)

    def _lookup(self, ids: Sequence[str]) -> list[_Instance]:
        unknown = [i for i in ids if i not in self._instances]
        if unknown:
            raise PlatformError(f"unknown instance(s): {', '.join(unknown)}")
        return [self._instances[i] for i in ids]

    async def _create(self, inst: _Instance) -> None:
        image = self._images[inst.engine]
        try:
            inst.container_id = await asyncio.to_thread(self._create_blocking, inst, image)
        except ENGINE_ERRORS as error:
            raise PlatformError(f"could not create container for {inst.id}: {error}") from error

    async def _start_first(self, inst: _Instance) -> None:
        await self._call(inst, "start")
        inst.set(InstanceState.STARTING)

    def _create_blocking(self, inst: _Instance, image: RuntimeImage) -> str:
        launch = inst.launch
        instance = launch.instance
        data_dir = launch.env.get("CHAOSKIT_DATA_DIR", launch.cwd)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        client = self._client(inst.engine)
        name = container_name(self.run_id, instance.id)
        labels = {RUN_LABEL: self.run_id, "chaoskit.service": instance.service,
                  "chaoskit.zone": instance.zone, "chaoskit.region": instance.region,
                  "chaoskit.instance": instance.id}
        # Before the create: a runner killed during the call leaves a container that
        # only its label names, and rollback looks for labels on recorded engines.
        self.state.add_engine(inst.engine)
        with contextlib.suppress(docker.errors.NotFound):
            # A container left by an earlier attempt of this very run id.
            client.containers.get(name).remove(force=True, v=True)
        container = client.containers.create(
            image.ref, container_argv(image, launch.argv), name=name, labels=labels,
            environment=container_environment(image, dict(launch.env)),
            working_dir=launch.cwd, network_mode="host",
            user=f"{os.getuid()}:{os.getgid()}",
            mounts=container_mounts(image, cwd=launch.cwd, data_dir=data_dir),
            tmpfs={"/tmp": "mode=1777"}, restart_policy={"Name": "no"},
            log_config=LogConfig(type="json-file", config={"max-size": "10m"}),
        )
        # Recorded before anything else can fail, so a rollback finds it.
        self.state.add_container(container.id, inst.engine)
        return str(container.id)

    async def _await_healthy(self, inst: _Instance, deadline: float) -> None:
        # A command check runs on this host (it reaches the container over 127.0.0.1).
        env = self.state.spawn_env(child_environment(dict(inst.launch.env)))
        next_inspect = time.monotonic() + INSPECT_INTERVAL
        async with HealthCheck(inst.launch, env) as check:
            while True:
                if await check.once():
                    inst.unhealthy = False
                    inst.set(InstanceState.UP)
                    if inst.watch is None:
                        inst.watch = asyncio.create_task(self._watch(inst, env),
                                                         name=f"health {inst.id}")
                    return
                # The engine is asked far less often than the health check: on a small
                # machine, dockerd's CPU competes with the very instances starting up.
                if time.monotonic() < next_inspect and time.monotonic() <= deadline:
                    await asyncio.sleep(HEALTH_INTERVAL)
                    continue
                next_inspect = time.monotonic() + INSPECT_INTERVAL
                status = await asyncio.to_thread(self._container_status, inst)
                if status not in ("running", "created", "restarting", "unknown"):
                    tail = await asyncio.to_thread(self._log_tail, inst)
                    raise PlatformError(f"{inst.id} exited before it became healthy "
                                        f"(container {status}); last output:\n{tail}")
                if time.monotonic() > deadline:
                    tail = await asyncio.to_thread(self._log_tail, inst)
                    raise PlatformError(f"{inst.id} did not become healthy (asked "
                                        f"{inst.launch.health_target}); last output:\n{tail}")
                await asyncio.sleep(HEALTH_INTERVAL)

    @staticmethod
    async def _watch(inst: _Instance, env: dict[str, str]) -> None:
        """Health for the whole run: checked while the instance is up, skipped otherwise."""
        def report(healthy: bool) -> None:
            inst.unhealthy = not healthy

        async with HealthCheck(inst.launch, env) as check:
            await keep_watching(check, report, skip=lambda: inst.state != InstanceState.UP)

    def _container_status(self, inst: _Instance) -> str:
        try:
            state = self._client(inst.engine).api.inspect_container(inst.container_id)["State"]
        except docker.errors.NotFound:
            return "removed"
        except ENGINE_ERRORS:
            return "unknown"  # the engine is slow to answer: keep waiting until the deadline
        return str(state["Status"])

    def _log_tail(self, inst: _Instance, lines: int = 20) -> str:
        try:
            raw = self._client(inst.engine).api.logs(inst.container_id, tail=lines)
        except ENGINE_ERRORS as error:
            return f"(no log: {error})"
        return bytes(raw).decode(errors="replace").rstrip()

    async def _call(self, inst: _Instance, action: str) -> None:
        def call() -> None:
            getattr(self._client(inst.engine).api, action)(inst.container_id)

        try:
            await asyncio.to_thread(call)
        except ENGINE_ERRORS as error:
            raise PlatformError(f"docker {action} {inst.id}: {error}") from error

    async def _crash(self, inst: _Instance) -> None:
        try:
            await asyncio.to_thread(self._crash_blocking, inst)
        except ENGINE_ERRORS as error:
            raise PlatformError(f"could not kill {inst.id}: {error}") from error

    def _crash_blocking(self, inst: _Instance) -> None:
        api = self._client(inst.engine).api
        if not crash_from_host(api, inst.container_id):
            # The engine is elsewhere (its pids are not ours): kill through its API.
            api.kill(inst.container_id, signal="SIGKILL")
        # Confirmed dead: the engine has reaped the process.
        api.wait(inst.container_id, timeout=ENGINE_TIMEOUT)

    def _on_death(self, inst: _Instance) -> None:
        """The container is known to have exited: mark it down, schedule its replacement."""
        if inst.state != InstanceState.DOWN:
            inst.set(InstanceState.DOWN)
        if (inst.held or self._closed or inst.launch.restart.policy != "always"
                or inst.replacing is not None):
            return
        inst.replacing = asyncio.create_task(self._replace(inst), name=f"replace-{inst.id}")

    async def _replace(self, inst: _Instance) -> None:
        try:
            await asyncio.sleep(inst.launch.restart.delay)
            await self._start_again(inst, time.monotonic() + 60.0)
        except PlatformError as error:
            # Killed again while starting, or it crashed at start: an ASG keeps
            # trying, one restart.delay apart, until held or closed.
            self._note(f"replacement of {inst.id} failed: {error}")
            if inst.replacing is asyncio.current_task():
                inst.replacing = None
                self._on_death(inst)
        finally:
            # A restore may have cancelled this task and scheduled another.
            if inst.replacing is asyncio.current_task():
                inst.replacing = None

    def _cancel_replacement(self, inst: _Instance) -> None:
        if inst.replacing is not None:
            inst.replacing.cancel()
            inst.replacing = None

    async def _start_again(self, inst: _Instance, deadline: float) -> None:
        await self._call(inst, "start")
        inst.restarts += 1
        inst.set(InstanceState.STARTING)
        await self._await_healthy(inst, deadline)

    async def _bring_up(self, inst: _Instance, deadline: float) -> None:
        status = await asyncio.to_thread(self._container_status, inst)
        if status == "paused":
            await self._call(inst, "unpause")
            inst.set(InstanceState.UP)
            return
        if status == "running" and inst.state == InstanceState.UP:
            return
        pending = inst.replacing
        if pending is not None and inst.state == InstanceState.STARTING:
            # Already being replaced and past its delay: let that finish.
            await asyncio.wait([pending], timeout=max(0.0, deadline - time.monotonic()))
            if _is_up(inst):  # (a function: mypy keeps the narrowing across the await)
                return
        self._cancel_replacement(inst)
        if status == "running":
            inst.set(InstanceState.STARTING)
            await self._await_healthy(inst, deadline)
        else:
            await self._start_again(inst, deadline)

    async def _supervise(self) -> None:
        while not self._closed:
            await asyncio.sleep(POLL_INTERVAL)
            for engine in sorted({i.engine for i in self._instances.values()}):
                taken = time.monotonic()
                try:
                    listed = await asyncio.to_thread(self._list, engine)
                except ENGINE_ERRORS as error:
                    self._note(f"supervisor: engine {engine or 'default'} unreachable: {error}")
                    continue
                states = {c["Id"]: c["State"] for c in listed}
                for inst in self._instances.values():
                    if inst.engine != engine or inst.since > taken or inst.dying:
                        continue
                    if inst.state in (InstanceState.UP, InstanceState.PAUSED) and \
                            states.get(inst.container_id) not in ("running", "paused"):
                        self._note(f"{inst.id} exited "
                                   f"({states.get(inst.container_id, 'removed')})")
                        self._on_death(inst)

    def _list(self, engine: str) -> list[dict[str, Any]]:
        filters = {"label": f"{RUN_LABEL}={self.run_id}"}
        return list(self._client(engine).api.containers(all=True, filters=filters))

    async def _shutdown(self) -> None:
        self._closed = True
        tasks = [t for t in (self._supervisor, *(i.replacing for i in self._instances.values()),
                             *(i.watch for i in self._instances.values()))
                 if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._supervisor = None
        for inst in self._instances.values():
            inst.replacing = inst.watch = None
        errors = await asyncio.gather(
            *(asyncio.to_thread(self._remove, inst)
              for inst in self._instances.values() if inst.container_id),
            return_exceptions=True)
        # After the removals, not beside them: both removing one container is a 409.
        # Only engines that answered: nothing was created on the others.
        errors += await asyncio.gather(
            *(asyncio.to_thread(self._sweep, engine) for engine in sorted(self._clients)),
            return_exceptions=True)
        for inst in self._instances.values():
            inst.set(InstanceState.STOPPED)
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        failed = [e for e in errors if isinstance(e, BaseException)]
        if failed:
            # The state file is kept (close() does not reach state.close()), so
            # ``chaoskit rollback`` can finish the job once the engine answers.
            raise PlatformError("could not remove every container: "
                                + "; ".join(str(e) for e in failed))

    def _sweep(self, engine: str) -> None:
        """Remove anything else labelled with this run (a create that raced a failure)."""
        for container in run_containers(self._client(engine), self.run_id):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
            self.state.remove_container(container.id)

    def _remove(self, inst: _Instance) -> None:
        client = self._client(inst.engine)
        try:
            raw = client.api.logs(inst.container_id, timestamps=False)
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            (self.logs_dir / f"{inst.id}.log").write_bytes(bytes(raw))
        except ENGINE_ERRORS:
            pass  # the log is a convenience; removing the container is what matters
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(inst.container_id, force=True, v=True)
        self.state.remove_container(inst.container_id)


def start_waves(instances: Sequence[_Instance]) -> list[list[_Instance]]:
    """Instances grouped so each group's upstreams are all in earlier groups.

    A service's upstreams are read from the launch's ``CHAOSKIT_UPSTREAMS`` (the
    env contract), so services that depend on nothing start together rather than
    one service at a time: each wave costs a round of container starts.
    """
    upstreams: dict[str, set[str]] = {}
    for inst in instances:
        declared = json.loads(inst.launch.env.get("CHAOSKIT_UPSTREAMS", "{}") or "{}")
        upstreams.setdefault(inst.launch.instance.service, set()).update(declared)
    level: dict[str, int] = {}

    def level_of(service: str, path: tuple[str, ...] = ()) -> int:
        if service not in level:
            deps = [d for d in upstreams.get(service, ()) if d in upstreams and d not in path]
            level[service] = 1 + max((level_of(d, (*path, service)) for d in deps), default=-1)
        return level[service]

    waves: dict[int, list[_Instance]] = {}
    for inst in instances:
        waves.setdefault(level_of(inst.launch.instance.service), []).append(inst)
    return [waves[k] for k in sorted(waves)]


def _is_up(inst: _Instance) -> bool:
    return inst.state == InstanceState.UP
