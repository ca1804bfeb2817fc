"""The environment contract chaoskit gives every instance, parsed into one typed value.

chaoskit starts each instance with ``CHAOSKIT_INSTANCE``, ``CHAOSKIT_SERVICE``,
``CHAOSKIT_ZONE``, ``CHAOSKIT_REGION``, ``CHAOSKIT_HOST``, ``CHAOSKIT_PORT``,
``CHAOSKIT_UPSTREAMS`` (JSON ``{service: [{"instance", "zone", "region", "url"}]}``),
``CHAOSKIT_DISABLE`` (comma-separated defences to switch off) and
``CHAOSKIT_DATA_DIR``. Every variable has a default so a service also runs
by hand: ``python -m targets.gateway`` listens on 8080 and expects playback on
8081, and so on (see :data:`DEFAULT_PORTS`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFENCES = frozenset(
    {"circuit_breaker", "retries", "load_shedding", "stale_fallback", "idempotency", "failover"}
)
"""The defences ``CHAOSKIT_DISABLE`` may name."""

DEFAULT_PORTS = {
    "edge": 8000, "gateway": 8080, "playback": 8081, "recommendations": 8082,
    "ratings": 8083, "payments": 8084,
}
"""Standalone ports, so the services find each other when started by hand."""

STANDALONE_UPSTREAMS = {
    "edge": ("gateway",),
    "gateway": ("playback", "recommendations", "payments"),
    "recommendations": ("ratings",),
}


@dataclass(frozen=True)
class Upstream:
    """One reachable instance of a dependency (its url may be a chaoskit proxy link)."""

    instance: str
    url: str
    zone: str = "local"
    region: str = "local"


@dataclass(frozen=True)
class Config:
    """Where this instance listens, what it may call, and which defences are off."""

    service: str
    instance: str
    zone: str
    region: str
    host: str
    port: int
    upstreams: Mapping[str, tuple[Upstream, ...]]
    disabled: frozenset[str]
    data_dir: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def enabled(self, defence: str) -> bool:
        """Whether ``defence`` is on (every defence is on unless disabled)."""
        if defence not in DEFENCES:
            raise ValueError(f"unknown defence {defence!r}; expected one of {sorted(DEFENCES)}")
        return defence not in self.disabled

    def upstream(self, service: str) -> tuple[Upstream, ...]:
        return self.upstreams.get(service, ())

    def number(self, name: str, default: float) -> float:
        """A numeric tunable from the environment (``env:`` of the topology)."""
        raw = self.env.get(name)
        return default if raw in (None, "") else float(raw)

    @property
    def workers(self) -> int:
        """``WORKERS``: requests in service at once (0: no limit); see ``common/capacity.py``."""
        return int(self.number("WORKERS", 0))

    @property
    def service_ms(self) -> float:
        """``SERVICE_MS``: milliseconds each request holds its worker before its own handling."""
        return self.number("SERVICE_MS", 0)


def service_parser(service: str) -> argparse.ArgumentParser:
    """The command line every service accepts; a service may add its own flags."""
    parser = argparse.ArgumentParser(prog=f"python -m targets.{service}")
    parser.add_argument("--workers", type=int, default=None,
                        help="requests in service at once, the rest queue (WORKERS; 0: no limit)")
    parser.add_argument("--service-ms", type=float, default=None,
                        help="milliseconds each request holds its worker (SERVICE_MS; "
                             "an asyncio sleep, so capacity is WORKERS/SERVICE_MS on any machine)")
    return parser


def command_line(service: str, argv: list[str] | None = None,
                 parser: argparse.ArgumentParser | None = None,
                 ) -> tuple[Config, argparse.Namespace]:
    """The config from the environment, with ``--workers``/``--service-ms`` taking precedence."""
    args = (parser or service_parser(service)).parse_args(argv)
    env = dict(os.environ)
    if args.workers is not None:
        env["WORKERS"] = str(args.workers)
    if args.service_ms is not None:
        env["SERVICE_MS"] = str(args.service_ms)
    return load_config(service, env), args


def load_config(service: str, environ: Mapping[str, str] | None = None) -> Config:
    """Read the contract from ``environ`` (default: the process environment)."""
    env = dict(os.environ if environ is None else environ)
    port = int(env.get("CHAOSKIT_PORT") or DEFAULT_PORTS.get(service, 8080))
    instance = env.get("CHAOSKIT_INSTANCE") or f"{service}-local-0"
    raw_upstreams = env.get("CHAOSKIT_UPSTREAMS")
    upstreams = parse_upstreams(raw_upstreams) if raw_upstreams else _standalone(service)
    disabled = frozenset(
        d.strip() for d in env.get("CHAOSKIT_DISABLE", "").split(",") if d.strip()
    )
    unknown = disabled - DEFENCES
    if unknown:
        raise ValueError(f"CHAOSKIT_DISABLE names unknown defences {sorted(unknown)}; "
                         f"expected some of {sorted(DEFENCES)}")
    data_dir = Path(env.get("CHAOSKIT_DATA_DIR") or Path(tempfile.gettempdir()) / instance)
    data_dir.mkdir(parents=True, exist_ok=True)
    return Config(
        service=env.get("CHAOSKIT_SERVICE") or service, instance=instance,
        zone=env.get("CHAOSKIT_ZONE") or "local", region=env.get("CHAOSKIT_REGION") or "local",
        host=env.get("CHAOSKIT_HOST") or "127.0.0.1", port=port, upstreams=upstreams,
        disabled=disabled, data_dir=data_dir, env=env,
    )


def parse_upstreams(raw: str) -> dict[str, tuple[Upstream, ...]]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("CHAOSKIT_UPSTREAMS must be a JSON object {service: [instances]}")
    return {
        name: tuple(
            Upstream(instance=e["instance"], url=e["url"].rstrip("/"),
                     zone=e.get("zone", "local"), region=e.get("region", "local"))
            for e in entries
        )
        for name, entries in data.items()
    }


def _standalone(service: str) -> dict[str, tuple[Upstream, ...]]:
    return {
        dep: (Upstream(instance=f"{dep}-local-0", url=f"http://127.0.0.1:{DEFAULT_PORTS[dep]}"),)
        for dep in STANDALONE_UPSTREAMS.get(service, ())
    }
