"""Turns a topology into :class:`Launch` values: ports, argv, and the environment contract.

Every instance receives, in its environment:

- ``CHAOSKIT_INSTANCE``, ``CHAOSKIT_SERVICE``, ``CHAOSKIT_ZONE``, ``CHAOSKIT_REGION``
- ``CHAOSKIT_HOST`` (127.0.0.1) and ``CHAOSKIT_PORT``: where to listen (its first
  named port); ``CHAOSKIT_PORTS``: JSON ``{name: port}`` of all its named ports
- ``CHAOSKIT_UPSTREAMS``: JSON ``{service: [{"instance", "zone", "region", "url"}]}``
  with one entry per reachable upstream instance. The url is the instance's own
  address, or the proxy link carrying the edge when network faults are enabled.
- ``CHAOSKIT_DISABLE``: comma-separated defences to switch off (``retries`` ...)
- ``CHAOSKIT_DATA_DIR``: a directory for the instance's files (SQLite ledgers ...)

``command``, ``env`` and ``files`` are Jinja2 templates (:mod:`chaoskit.templates`:
``{{ port }}``, ``{{ ports.peer }}``, ``{{ data_dir }}``, ``instances('redis')`` ...);
a bare ``python`` argument means the running interpreter. A program that knows
nothing of chaoskit reads only what its templates give it.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from chaoskit.model.topology import CommandHealth, Instance, Topology, plan_instances, reachable
from chaoskit.platform.base import Launch
from chaoskit.templates import HOST, Renderer

__all__ = ["HOST", "child_environment", "draw_ports", "free_ports", "plan_launches"]

LinkAddress = Callable[[Instance, Instance, str], str]
"""(caller, upstream, upstream's direct address) → the address the caller should dial."""

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


def draw_ports(topology: Topology, extra: int = 0) -> tuple[dict[str, dict[str, int]], list[int]]:
    """Every instance's named ports, and ``extra`` more (for links), drawn in one batch:
    ports asked for one by one could repeat each other once released."""
    instances = plan_instances(topology)
    names = [topology.service(i.service).ports for i in instances]
    drawn = free_ports(sum(len(n) for n in names) + extra)
    ports: dict[str, dict[str, int]] = {}
    taken = 0
    for instance, named in zip(instances, names, strict=True):
        ports[instance.id] = dict(zip(named, drawn[taken:taken + len(named)], strict=True))
        taken += len(named)
    return ports, drawn[taken:]


def plan_launches(
    topology: Topology,
    *,
    base_dir: str,
    data_dir: Path,
    disabled: Iterable[str] = (),
    link_address: LinkAddress | None = None,
    ports: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Launch]:
    """One launch per planned instance, dependencies first; each instance's ``files``
    are written into its data dir here, once (a restart keeps what the program changed
    in them, as a VM keeps its disk).

    ``topology`` is the one that runs: with ``disabled`` defences' services removed
    (:meth:`Topology.without_defences`).
    """
    instances = plan_instances(topology)
    if ports is None:
        ports, _ = draw_ports(topology)
    cwd = str((Path(base_dir) / topology.workdir).resolve())
    switched_off = frozenset(disabled)
    # Instances run in the topology's workdir (and maybe in a container): a relative
    # data dir would point somewhere else for them.
    data_dir = data_dir.absolute()
    renderer = Renderer(topology, ports, disabled=switched_off,
                        data_dir=lambda i: str(data_dir / i.id),
                        link_address=_only_links(topology, link_address))
    launches = []
    for instance in instances:
        service = topology.service(instance.service)
        instance_dir = data_dir / instance.id
        instance_dir.mkdir(parents=True, exist_ok=True)
        for name, text in renderer.files(instance).items():
            target = instance_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        named = dict(ports[instance.id])
        first = next(iter(named.values()))
        env = {
            **renderer.env(instance),
            "CHAOSKIT_INSTANCE": instance.id,
            "CHAOSKIT_SERVICE": instance.service,
            "CHAOSKIT_ZONE": instance.zone,
            "CHAOSKIT_REGION": instance.region,
            "CHAOSKIT_HOST": HOST,
            "CHAOSKIT_PORT": str(first),
            "CHAOSKIT_PORTS": json.dumps(named),
            "CHAOSKIT_UPSTREAMS": json.dumps(
                _upstreams(topology, instances, instance, ports, link_address)
            ),
            "CHAOSKIT_DISABLE": ",".join(sorted(switched_off)),
            "CHAOSKIT_DATA_DIR": str(instance_dir),
            "PYTHONUNBUFFERED": "1",
        }
        health_command: tuple[str, ...] = ()
        if isinstance(service.health, CommandHealth):
            names = renderer.names(instance)
            index = [s.name for s in topology.services].index(service.name)
            health_command = tuple(
                _interpreter(renderer.render(arg, names, ("services", index, "health", "command",
                                                          i)))
                for i, arg in enumerate(service.health.command))
        launches.append(Launch(
            instance=instance, argv=tuple(_interpreter(a) for a in renderer.command(instance)),
            env=env, cwd=cwd, ports=named, restart=service.restart, health=service.health,
            health_port=named[service.health_port], health_command=health_command,
            ready_timeout=service.ready_timeout))
    return launches


def _interpreter(arg: str) -> str:
    # A bare ``python`` is the interpreter running chaoskit (its venv, its packages).
    return sys.executable if arg == "python" else arg


def _only_links(topology: Topology, link_address: LinkAddress | None
                ) -> Callable[[Instance | None, Instance, str], str | None] | None:
    """The fabric's callback, asked only for pairs that have a link: a dependency edge,
    or with ``links: shared`` any pair (every node dials every peer's one proxy)."""
    if link_address is None:
        return None
    call = link_address

    def address(caller: Instance | None, upstream: Instance, direct: str) -> str | None:
        if caller is None:
            return None  # the load: not rendered here
        if topology.links == "shared":
            return call(caller, upstream, direct)
        for dep in topology.service(caller.service).depends_on:
            if dep.service == upstream.service and reachable(caller, upstream, dep):
                return call(caller, upstream, direct)
        return None

    return address


def _upstreams(
    topology: Topology,
    instances: tuple[Instance, ...],
    caller: Instance,
    ports: Mapping[str, Mapping[str, int]],
    link_address: LinkAddress | None,
) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = {}
    for dep in topology.service(caller.service).depends_on:
        entries = []
        for upstream in instances:
            if upstream.service != dep.service or not reachable(caller, upstream, dep):
                continue
            direct = f"{HOST}:{next(iter(ports[upstream.id].values()))}"
            address = link_address(caller, upstream, direct) if link_address else direct
            entries.append({"instance": upstream.id, "zone": upstream.zone,
                            "region": upstream.region, "url": f"http://{address}"})
        result[dep.service] = entries
    return result


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment plus ``extra``: instances need PATH, HOME, the venv."""
    return {**os.environ, **extra}
