"""The toxic types, one module each, behind the :class:`~.base.Toxic` protocol."""

from __future__ import annotations

from chaoskit.proxy.server.toxics.bandwidth import Bandwidth
from chaoskit.proxy.server.toxics.base import Toxic, attributes_json, decode_attributes
from chaoskit.proxy.server.toxics.latency import Latency
from chaoskit.proxy.server.toxics.limit_data import LimitData
from chaoskit.proxy.server.toxics.noop import Noop
from chaoskit.proxy.server.toxics.reset_peer import ResetPeer
from chaoskit.proxy.server.toxics.slicer import Slicer
from chaoskit.proxy.server.toxics.slow_close import SlowClose
from chaoskit.proxy.server.toxics.timeout import Timeout

TOXIC_TYPES: dict[str, type[Toxic]] = {
    cls.type_name: cls
    for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, Noop)
}
"""Registered toxic types by their API name."""

__all__ = ["TOXIC_TYPES", "Toxic", "attributes_json", "decode_attributes"]
