"""A tiny Prometheus text-format registry: counters, gauges and gauges read at scrape time.

chaoskit's metric probe scrapes ``/metrics`` and sums a named sample over the
selected instances, so names are stable and labels few. Every service shares
the ``http_*`` family; each defence adds its own (``circuit_breaker_state``,
``load_shed_total``, ``stale_served_total``, ``upstream_retries_total`` ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, dict[str, str], float]
Collector = Callable[[], Iterable[Sample]]


def _key(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


@dataclass
class Metrics:
    """Counters and gauges keyed by (name, labels), plus collectors run on every scrape."""

    constant: dict[str, str] = field(default_factory=dict)
    """Labels added to every sample (service, instance, zone, region)."""
    _counters: dict[tuple[str, Labels], float] = field(default_factory=dict)
    _gauges: dict[tuple[str, Labels], float] = field(default_factory=dict)
    _collectors: list[tuple[str, Collector]] = field(default_factory=list)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = (name, _key(labels))
        self._counters[key] = self._counters.get(key, 0.0) + value

    def set(self, name: str, value: float, **labels: str) -> None:
        self._gauges[(name, _key(labels))] = value

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (tests, audits)."""
        total = 0.0
        for _kind, sample_name, sample_labels, value in self._samples():
            if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items()):
                total += value
        return total

    def collect(self, kind: str, collector: Collector) -> None:
        """Register ``collector``; ``kind`` is ``counter`` or ``gauge`` for its samples."""
        self._collectors.append((kind, collector))

    def _samples(self) -> Iterable[tuple[str, str, dict[str, str], float]]:
        for (name, key), value in self._counters.items():
            yield "counter", name, dict(key), value
        for (name, key), value in self._gauges.items():
            yield "gauge", name, dict(key), value
        for kind, collector in self._collectors:
            for sample_name, sample_labels, sample_value in collector():
                yield kind, sample_name, sample_labels, sample_value

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        typed: set[str] = set()
        for kind, name, labels, value in sorted(self._samples(), key=lambda s: s[1]):
            if name not in typed:
                lines.append(f"# TYPE {name} {kind}")
                typed.add(name)
            merged = {**self.constant, **labels}
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(merged.items()))
            lines.append(f"{name}{{{body}}} {value:g}" if body else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
