"""Turns a topology into :class:`Launch` values: ports, argv, and the environment contract.

Every instance receives, in its environment:

- ``CHAOSKIT_INSTANCE``, ``CHAOSKIT_SERVICE``, ``CHAOSKIT_ZONE``, ``CHAOSKIT_REGION``
- ``CHAOSKIT_HOST`` (127.0.0.1) and ``CHAOSKIT_PORT``: where to listen
- ``CHAOSKIT_UPSTREAMS``: JSON ``{service: [{"instance", "zone", "region", "url"}]}``
  with one entry per reachable upstream instance. The url is the instance's own
  address, or the proxy link carrying the edge when network faults are enabled.
- ``CHAOSKIT_DISABLE``: comma-separated defences to switch off (``retries`` ...)
- ``CHAOSKIT_DATA_DIR``: a directory for the instance's files (SQLite ledgers ...)

``argv`` may use ``{python}``, ``{port}``, ``{host}``, ``{instance}``, ``{zone}``,
``{region}`` and ``{data_dir}``; a bare ``python`` means the running interpreter.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from chaoskit.model.topology import Instance, Topology, plan_instances, reachable
from chaoskit.platform.base import Launch

LinkAddress = Callable[[Instance, Instance, str], str]
"""(caller, upstream, upstream's direct address) → the address the caller should dial."""

HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 that are free now, chosen at random below
    the kernel's ephemeral range.

    Not ``bind(0)``: the kernel hands out ephemeral ports, so a port a run has
    just released goes straight to the next caller — another run's setup, or the
    local end of an outgoing connection (Locust's, a gateway's) that would then
    sit on an instance's port while it is being replaced.
    """
    low, high = _port_range()
    chosen: list[int] = []
    held: list[socket.socket] = []
    pick = random.SystemRandom()
    try:
        for _ in range(50 * count):
            if len(chosen) == count:
                break
            port = pick.randrange(low, high)
            if port in chosen:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((HOST, port))
            except OSError:
                sock.close()
                continue
            held.append(sock)  # held until all are chosen: no port is picked twice
            chosen.append(port)
    finally:
        for sock in held:
            sock.close()
    if len(chosen) < count:
        raise OSError(f"could not find {count} free ports in {low}-{high} on {HOST}")
    return chosen


def _port_range() -> tuple[int, int]:
    """The 16k ports just below the ephemeral range (32768-60999 by default on Linux)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    return max(1024, ephemeral_low - 16384), ephemeral_low


def plan_launches(
    topology: Topology,
    *,
    base_dir: str,
    data_dir: Path,
    disabled: Iterable[str] = (),
    link_address: LinkAddress | None = None,
    ports: dict[str, int] | None = None,
) -> list[Launch]:
    """One launch per planned instance, dependencies first."""
    instances = plan_instances(topology)
    if ports is None:
        ports = dict(zip((i.id for i in instances), free_ports(len(instances)), strict=True))
    cwd = str((Path(base_dir) / topology.workdir).resolve())
    disable = ",".join(sorted(set(disabled)))
    # Instances run in the topology's workdir (and maybe in a container): a relative
    # data dir would point somewhere else for them.
    data_dir = data_dir.absolute()
    launches = []
    for instance in instances:
        service = topology.service(instance.service)
        instance_dir = data_dir / instance.id
        instance_dir.mkdir(parents=True, exist_ok=True)
        values = {
            "python": sys.executable, "port": str(ports[instance.id]), "host": HOST,
            "instance": instance.id, "zone": instance.zone, "region": instance.region,
            "data_dir": str(instance_dir),
        }
        argv = tuple(_expand(arg, values) for arg in service.command)
        env = {
            **service.env,
            "CHAOSKIT_INSTANCE": instance.id,
            "CHAOSKIT_SERVICE": instance.service,
            "CHAOSKIT_ZONE": instance.zone,
            "CHAOSKIT_REGION": instance.region,
            "CHAOSKIT_HOST": HOST,
            "CHAOSKIT_PORT": str(ports[instance.id]),
            "CHAOSKIT_UPSTREAMS": json.dumps(
                _upstreams(topology, instances, instance, ports, link_address)
            ),
            "CHAOSKIT_DISABLE": disable,
            "CHAOSKIT_DATA_DIR": str(instance_dir),
            "PYTHONUNBUFFERED": "1",
        }
        launches.append(
            Launch(instance=instance, argv=argv, env=env, cwd=cwd, port=ports[instance.id],
                   health_path=service.health, restart=service.restart)
        )
    return launches


def _expand(arg: str, values: dict[str, str]) -> str:
    if arg == "python":
        return sys.executable
    for key, value in values.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def _upstreams(
    topology: Topology,
    instances: tuple[Instance, ...],
    caller: Instance,
    ports: dict[str, int],
    link_address: LinkAddress | None,
) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = {}
    for dep in topology.service(caller.service).depends_on:
        entries = []
        for upstream in instances:
            if upstream.service != dep.service or not reachable(caller, upstream, dep):
                continue
            direct = f"{HOST}:{ports[upstream.id]}"
            address = link_address(caller, upstream, direct) if link_address else direct
            entries.append({"instance": upstream.id, "zone": upstream.zone,
                            "region": upstream.region, "url": f"http://{address}"})
        result[dep.service] = entries
    return result


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment plus ``extra``: instances need PATH, HOME, the venv."""
    return {**os.environ, **extra}
