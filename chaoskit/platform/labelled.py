"""A user's own containers as targets, Pumba style: chosen by label, never by name alone.

No chaoskit topology is involved: the containers exist already, started by the
user (compose, scripts, CI). Two rules keep chaoskit from touching anything
else:

- only containers labelled ``chaoskit.enable=true`` can ever be selected: that
  filter is always ANDed into the engine query, and checked again on every
  container returned (a filter is never trusted alone);
- every selector must name at least one other label (``app=web``); several
  labels are ANDed, as in Pumba's ``--label``.

Actions: ``kill`` (API kill with a signal, SIGKILL by default — Docker counts
it as a manual stop, so the container's restart policy does *not* replace it),
``crash`` (host-side SIGKILL of the main process: the restart policy *does*
fire; only for an engine sharing this host's pid namespace), ``pause`` /
``unpause`` (cgroup freezer), ``stop`` (SIGTERM, SIGKILL after ``timeout``)
and ``start``. :meth:`LabelledContainers.select` is the dry run: it lists
exactly what an action would hit and changes nothing.

Every engine call runs in a worker thread on a client with a 30 s timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from chaoskit.errors import ConfigError, PlatformError
from chaoskit.platform.docker_crash import crash_from_host

ENABLE_LABEL = "chaoskit.enable"
ENGINE_ERRORS = (docker.errors.DockerException, OSError)
"""The SDK's errors, and requests' timeouts (``RequestException`` is an ``OSError``)."""
ENGINE_TIMEOUT = 30


@dataclass(frozen=True)
class Target:
    """One selected container."""

    id: str
    name: str
    status: str
    engine: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.name} ({self.id[:12]}, {self.status})"


def label_filters(labels: Mapping[str, str]) -> list[str]:
    """The engine's ``label`` filter for ``labels``, with ``chaoskit.enable=true`` ANDed in."""
    others = {k: v for k, v in labels.items() if k != ENABLE_LABEL}
    if labels.get(ENABLE_LABEL, "true") != "true":
        raise ConfigError(f"{ENABLE_LABEL} can only be 'true': chaoskit never selects "
                          "containers that did not opt in", field="labels")
    if not others:
        raise ConfigError(f"name at least one label besides {ENABLE_LABEL} "
                          "(e.g. labels: {app: web})", field="labels")
    return [*(f"{k}={v}" for k, v in sorted(others.items())), f"{ENABLE_LABEL}=true"]


def _eligible(container_labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    if container_labels.get(ENABLE_LABEL) != "true":
        return False
    return all(container_labels.get(k) == v for k, v in wanted.items())


class LabelledContainers:
    """Selects and acts on opted-in containers of one engine ("" = ``docker.from_env()``)."""

    def __init__(self, engine: str = "") -> None:
        self.engine = engine
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = (docker.DockerClient(base_url=self.engine, timeout=ENGINE_TIMEOUT)
                                if self.engine else docker.from_env(timeout=ENGINE_TIMEOUT))
            except ENGINE_ERRORS as error:
                raise PlatformError(f"docker engine {self.engine or 'default'}: {error}") from error
        return self._client

    def select(self, labels: Mapping[str, str], *, status: str | None = "running"
               ) -> list[Target]:
        """The opted-in containers matching every label (and ``status``), by name. Blocking.

        This is also the dry run: it only reads.
        """
        filters: dict[str, Any] = {"label": label_filters(labels)}
        if status is not None:
            filters["status"] = status
        try:
            found = self.client.api.containers(all=True, filters=filters)
        except ENGINE_ERRORS as error:
            raise PlatformError(f"docker engine {self.engine or 'default'}: {error}") from error
        targets = [
            Target(id=c["Id"], name=c["Names"][0].lstrip("/") if c.get("Names") else c["Id"][:12],
                   status=c["State"], engine=self.engine, labels=dict(c.get("Labels") or {}))
            for c in found
        ]
        return sorted((t for t in targets if _eligible(t.labels, labels)), key=lambda t: t.name)

    async def select_async(self, labels: Mapping[str, str], *, status: str | None = "running"
                           ) -> list[Target]:
        return await asyncio.to_thread(self.select, labels, status=status)

    async def kill(self, targets: Sequence[Target], *, signal: str = "SIGKILL") -> None:
        """API kill: the engine records a manual stop (no restart policy). Returns once sent;
        with SIGKILL, once each is confirmed exited."""
        await self._each(targets, lambda t: self._kill(t, signal))

    async def crash(self, targets: Sequence[Target]) -> None:
        """Host-side SIGKILL of each main process, so the container's restart policy fires."""
        await self._each(targets, self._crash)

    async def pause(self, targets: Sequence[Target]) -> None:
        await self._each(targets, lambda t: self.client.api.pause(t.id))

    async def unpause(self, targets: Sequence[Target]) -> None:
        await self._each(targets, self._unpause)

    async def stop(self, targets: Sequence[Target], *, timeout: float = 10.0) -> None:
        await self._each(targets, lambda t: self.client.api.stop(t.id, timeout=int(timeout)))

    async def start(self, targets: Sequence[Target]) -> list[Target]:
        """Start those not running (unpause paused ones); return the ones it started."""
        started = await asyncio.gather(*(asyncio.to_thread(self._start, t) for t in targets))
        return [t for t, did in zip(targets, started, strict=True) if did]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- blocking helpers, run in threads ----------------------------------

    async def _each(self, targets: Sequence[Target], action: Callable[[Target], object]
                    ) -> None:
        try:
            await asyncio.gather(*(asyncio.to_thread(action, t) for t in targets))
        except ENGINE_ERRORS as error:
            raise PlatformError(f"docker: {error}") from error

    def _kill(self, target: Target, signal: str) -> None:
        api = self.client.api
        api.kill(target.id, signal=signal)
        if signal in ("SIGKILL", "KILL", "9"):
            api.wait(target.id, timeout=ENGINE_TIMEOUT)

    def _crash(self, target: Target) -> None:
        if not crash_from_host(self.client.api, target.id):
            raise PlatformError(f"cannot crash {target.name}: its main process is not visible "
                                "on this host (remote engine?); use kill instead")

    def _unpause(self, target: Target) -> None:
        with contextlib.suppress(docker.errors.APIError):
            # 409 "not paused": unpause is idempotent for a revert.
            self.client.api.unpause(target.id)

    def _start(self, target: Target) -> bool:
        state = self.client.api.inspect_container(target.id)["State"]
        if state["Paused"]:
            self.client.api.unpause(target.id)
            return True
        if state["Running"] or state.get("Restarting"):
            return False
        self.client.api.start(target.id)
        return True


