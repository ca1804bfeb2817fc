"""A real crash of a container: SIGKILL of its main process from the host.

An API kill is a manual stop to Docker (its restart policy does not fire); a
host-side SIGKILL is a crash. Shared by the docker platform and by faults on a
user's own labelled containers.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any


def crash_from_host(api: Any, container_id: str) -> bool:
    """SIGKILL the container's main process; False if it is not visible on this host.

    A stopped container counts as crashed already. A paused one is thawed
    first: a frozen task does not act on SIGKILL until thawed. ``api`` is a
    docker ``APIClient`` (Any: the SDK has no type hints).
    """
    state = api.inspect_container(container_id)["State"]
    if not state["Running"]:
        return True
    if state["Paused"]:
        api.unpause(container_id)
    pid = int(state["Pid"])
    if not owned_by(pid, container_id):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def owned_by(pid: int, container_id: str) -> bool:
    """Whether host pid ``pid`` is in ``container_id``'s cgroup (so this host may kill it)."""
    if pid <= 0:
        return False
    try:
        return container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False
