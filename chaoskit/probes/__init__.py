"""Probe kinds, one module each, behind :class:`chaoskit.probes.base.Probe`."""

from __future__ import annotations

from chaoskit.model.probes import (
    HttpProbe,
    InstancesProbe,
    InvariantProbe,
    LoadProbe,
    MetricProbe,
    PrometheusProbe,
)
from chaoskit.probes.base import Probe, Reading
from chaoskit.probes.http import HttpCheck
from chaoskit.probes.instances import InstancesUp
from chaoskit.probes.invariant import InvariantAudit
from chaoskit.probes.load import LoadStatistic
from chaoskit.probes.metric import MetricSum
from chaoskit.probes.prometheus import PrometheusQuery

ProbeSpecs = (LoadProbe | HttpProbe | InstancesProbe | MetricProbe | InvariantProbe
              | PrometheusProbe)


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
    raise TypeError(f"no probe for {type(spec).__name__}")


__all__ = ["Probe", "Reading", "build_probe"]
