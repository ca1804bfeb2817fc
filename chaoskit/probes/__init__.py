"""Probe kinds, one module each, behind :class:`chaoskit.probes.base.Probe`."""

from __future__ import annotations

from chaoskit.model.probes import (
    CommandProbe,
    HttpProbe,
    InstancesProbe,
    InvariantProbe,
    LoadProbe,
    MetricProbe,
    PrometheusProbe,
    TcpProbe,
)
from chaoskit.probes.base import Probe, Reading
from chaoskit.probes.command import CommandRun
from chaoskit.probes.http import HttpCheck
from chaoskit.probes.instances import InstancesUp
from chaoskit.probes.invariant import InvariantAudit
from chaoskit.probes.load import LoadStatistic
from chaoskit.probes.metric import MetricSum
from chaoskit.probes.prometheus import PrometheusQuery
from chaoskit.probes.tcp import TcpConnect

ProbeSpecs = (LoadProbe | HttpProbe | InstancesProbe | MetricProbe | InvariantProbe
              | PrometheusProbe | TcpProbe | CommandProbe)


def build_probe(spec: ProbeSpecs) -> Probe:
    """The probe that measures ``spec``."""
    match spec:
        case LoadProbe():
            return LoadStatistic(spec)
        case HttpProbe():
            return HttpCheck(spec)
        case InstancesProbe():
            return InstancesUp(spec)
        case MetricProbe():
            return MetricSum(spec)
        case InvariantProbe():
            return InvariantAudit(spec)
        case PrometheusProbe():
            return PrometheusQuery(spec)
        case TcpProbe():
            return TcpConnect(spec)
        case CommandProbe():
            return CommandRun(spec)
    raise TypeError(f"no probe for {type(spec).__name__}")


__all__ = ["Probe", "Reading", "build_probe"]
