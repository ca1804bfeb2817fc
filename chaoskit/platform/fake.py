"""An in-memory platform that records every call: the runner's test double.

Nothing is started; instances are up the moment ``start`` is called. Use it to
test experiments' logic (selection, schedule, verdicts) in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chaoskit.errors import PlatformError
from chaoskit.platform.base import InstanceState, InstanceStatus, Launch


class FakePlatform:
    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self._status: dict[str, InstanceStatus] = {}

    async def start(self, launches: Sequence[Launch], *, timeout: float = 60.0) -> None:
        self.calls.append(("start", tuple(launch.instance.id for launch in launches)))
        for launch in launches:
            self._status[launch.instance.id] = InstanceStatus(
                instance=launch.instance, state=InstanceState.UP, address=launch.address)

    async def kill(self, ids: Sequence[str], *, hold: bool = False) -> None:
        self.calls.append(("kill", tuple(ids)))
        for instance_id in ids:
            self._set(instance_id, InstanceState.DOWN, held=hold, restarts=1)

    async def restore(self, ids: Sequence[str], *, timeout: float = 60.0) -> None:
        self.calls.append(("restore", tuple(ids)))
        for instance_id in ids:
            self._set(instance_id, InstanceState.UP, held=False)

    async def pause(self, ids: Sequence[str]) -> None:
        self.calls.append(("pause", tuple(ids)))
        for instance_id in ids:
            self._set(instance_id, InstanceState.PAUSED)

    async def resume(self, ids: Sequence[str]) -> None:
        self.calls.append(("resume", tuple(ids)))
        for instance_id in ids:
            self._set(instance_id, InstanceState.UP)

    def status(self) -> list[InstanceStatus]:
        return list(self._status.values())

    async def close(self) -> None:
        self.calls.append(("close", ()))
        for instance_id in self._status:
            self._set(instance_id, InstanceState.STOPPED)

    def _set(self, instance_id: str, state: InstanceState, *, held: bool = False,
             restarts: int = 0) -> None:
        if instance_id not in self._status:
            raise PlatformError(f"unknown instance {instance_id}")
        current = self._status[instance_id]
        self._status[instance_id] = replace(current, state=state, held=held,
                                            restarts=current.restarts + restarts)
