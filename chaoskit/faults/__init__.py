"""Fault kinds, one module each, all behind :class:`chaoskit.faults.base.Fault`.

The registry maps a spec class (pure data, ``chaoskit.model.faults``) to the
class that knows how to inject and revert it. A new kind registers here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoskit.faults.bandwidth import BandwidthFault
from chaoskit.faults.base import Fault, Injection
from chaoskit.faults.container_kill import ContainerKillFault
from chaoskit.faults.container_pause import ContainerPauseFault
from chaoskit.faults.container_stop import ContainerStopFault
from chaoskit.faults.instance_kill import InstanceKillFault
from chaoskit.faults.latency import LatencyFault
from chaoskit.faults.limit_data import LimitDataFault
from chaoskit.faults.partition import PartitionFault
from chaoskit.faults.pause import PauseFault
from chaoskit.faults.region_outage import RegionOutageFault
from chaoskit.faults.request_fault import RequestFaultFault
from chaoskit.faults.reset_peer import ResetPeerFault
from chaoskit.faults.slicer import SlicerFault
from chaoskit.faults.timeout import TimeoutFault
from chaoskit.faults.zone_outage import ZoneOutageFault
from chaoskit.model.faults import (
    Bandwidth,
    ContainerKill,
    ContainerPause,
    ContainerStop,
    FaultBase,
    InstanceKill,
    Latency,
    LimitData,
    Partition,
    Pause,
    RegionOutage,
    RequestFault,
    ResetPeer,
    Slicer,
    Timeout,
    ZoneOutage,
)

# Any: each factory takes its own spec type; build() looks it up by that exact type.
_REGISTRY: dict[type[FaultBase], Callable[[Any], Fault]] = {
    InstanceKill: InstanceKillFault,
    ZoneOutage: ZoneOutageFault,
    RegionOutage: RegionOutageFault,
    Pause: PauseFault,
    Latency: LatencyFault,
    Partition: PartitionFault,
    Bandwidth: BandwidthFault,
    ResetPeer: ResetPeerFault,
    Timeout: TimeoutFault,
    Slicer: SlicerFault,
    LimitData: LimitDataFault,
    ContainerKill: ContainerKillFault,
    ContainerPause: ContainerPauseFault,
    ContainerStop: ContainerStopFault,
    RequestFault: RequestFaultFault,
}


def register(spec_type: type[FaultBase], factory: Callable[[Any], Fault]) -> None:
    """Register the implementation of a fault spec type."""
    _REGISTRY[spec_type] = factory


def build(spec: FaultBase) -> Fault:
    """The fault implementing ``spec``."""
    try:
        factory = _REGISTRY[type(spec)]
    except KeyError:
        raise TypeError(f"no fault registered for {type(spec).__name__}") from None
    return factory(spec)


__all__ = ["Fault", "Injection", "build", "register"]
