"""The tiny topology the docker platform tests and the benchmark run (importable helpers)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent.parent
SERVICE = str(HERE / "tiny_service.py")


def topology_dict(*, zones: tuple[str, ...] = ("a", "b", "c"), delay: float = 1.0,
                  engines: dict[str, str] | None = None) -> dict[str, object]:
    """3 zones x 1 replica of the tiny service, plus a global one depending on it."""
    command = [sys.executable, SERVICE]
    topology: dict[str, object] = {
        "name": "tiny", "entrypoint": "front", "workdir": str(ROOT),
        "regions": [{"name": "r1", "zones": list(zones)}],
        "services": [
            {"name": "back", "command": command, "restart": {"delay": delay}},
            {"name": "front", "scope": "global", "command": command,
             "depends_on": [{"service": "back", "locality": "global"}],
             "restart": {"delay": delay}},
        ],
    }
    if engines:
        topology["docker"] = {"engines": engines}
    return topology


def default_socket() -> str | None:
    """The path of the default engine's unix socket, when it is one."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and Path(host[len("unix://"):]).exists():
        return host[len("unix://"):]
    return None
