"""The topology the platform tests run, and how they look for what it left behind.

Shared by ``test_local.py`` and ``crashing_runner.py`` (a runner that gets SIGKILLed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from chaoskit.model.topology import Dependency, Region, RestartPolicy, Service, Topology
from chaoskit.platform.base import Launch
from chaoskit.platform.deployment import plan_launches

HERE = Path(__file__).resolve().parent
MARKER_VAR = "CHAOSKIT_TEST_MARKER"
RESTART_DELAY = 0.5


def echo_topology(marker: str, *, front_env: dict[str, str] | None = None,
                  backend_restart: Literal["always", "never"] = "always") -> Topology:
    """3 zones x 1 backend, and a global front depending on the backends.

    ``marker`` goes into every instance's environment, so a test can find its
    own processes in /proc and nobody else's.
    """
    command = ("python", str(HERE / "echo_service.py"))
    env = {MARKER_VAR: marker}
    return Topology(
        name="echo",
        regions=(Region(name="r1", zones=("z1", "z2", "z3")),),
        services=(
            Service(name="backend", command=command, env=env,
                    restart=RestartPolicy(policy=backend_restart, delay=RESTART_DELAY)),
            Service(name="front", command=command, scope="global",
                    env={**env, **(front_env or {})},
                    depends_on=(Dependency(service="backend"),),
                    restart=RestartPolicy(delay=RESTART_DELAY)),
        ),
        entrypoint="front",
    )


def echo_launches(topology: Topology, data_dir: Path) -> list[Launch]:
    return plan_launches(topology, base_dir=str(HERE), data_dir=data_dir)


def marked_pids(marker: str) -> list[int]:
    """Live (non-zombie) processes whose environment carries ``marker``."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or someone else's
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
