"""What faults and probes see of a run: the deployed topology, the platform, the history."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chaoskit.model.experiment import Experiment
from chaoskit.model.history import AnyEvent, History
from chaoskit.model.topology import Instance, Selector
from chaoskit.platform.base import Launch, Platform


class LinkFabric(Protocol):
    """The proxies carrying the topology's dependency edges (see ``chaoskit.proxy.fabric``)."""

    async def close(self) -> None: ...


@dataclass
class RunContext:
    """One run's live state, handed to every fault and probe."""

    experiment: Experiment
    platform: Platform
    launches: Sequence[Launch]
    history: History
    run_dir: Path
    rng: random.Random
    fabric: LinkFabric | None = None
    disabled: frozenset[str] = frozenset()
    entry_url: str = ""
    """Base URL load is sent to (the entry point's first instance, or a load override)."""
    prometheus_url: str = ""
    """The run's own Prometheus (``observability: {prometheus: true}``), else empty."""
    listeners: list[Callable[[AnyEvent], None]] = field(default_factory=list)
    """Called with every event as it is recorded (the live terminal view)."""

    @property
    def instances(self) -> list[Instance]:
        return [launch.instance for launch in self.launches]

    def select(self, selector: Selector) -> list[Instance]:
        """Instances matching the selector, in launch order."""
        return [i for i in self.instances if selector.matches(i)]

    def launch(self, instance_id: str) -> Launch:
        for launch in self.launches:
            if launch.instance.id == instance_id:
                return launch
        raise KeyError(instance_id)

    def address_of(self, service: str) -> str:
        """The direct address of the first instance of ``service``."""
        for launch in self.launches:
            if launch.instance.service == service:
                return launch.address
        raise KeyError(service)

    def record(self, event: AnyEvent) -> None:
        self.history.append(event)
        for listener in self.listeners:
            listener(event)

    @staticmethod
    def now() -> float:
        return time.time()
