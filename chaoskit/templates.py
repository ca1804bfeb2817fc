"""A service's ``command``, ``env`` and ``files``, rendered per instance with Jinja2.

Templates are how an ordinary program (redis-server, nginx, etcd) joins a topology
with no wrapper: its config names its own ports and its peers' addresses. The
names a template sees:

- ``instance``, ``service``, ``zone``, ``region``: the instance's own labels
- ``host`` (127.0.0.1), ``port`` (its first named port), ``ports.NAME``
- ``data_dir``: the instance's own directory (its ``files`` are written there)
- ``disabled``: the defences switched off (``{% if 'sentinel' in disabled %}``)
- ``python``: the interpreter running chaoskit
- ``instances(SERVICE)``: every planned instance of a service, each with ``id``,
  ``zone``, ``region``, ``host``, ``port``, ``ports`` and ``address``
  (``host:port``); none for a service a disabled defence removed. Where the
  rendering instance calls that service over a link, ``host``, ``port`` and
  ``address`` are the link's (faults on the link apply). With ``links: shared``
  that is every instance's view of every peer (one proxy per node, on its first
  named port; ``ports`` stay direct), and the load's with ``load.through_link``.

Undefined names are errors (``StrictUndefined``): a typo fails ``chaoskit
validate`` with the field it is in, never an instance at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import jinja2

from chaoskit.model.topology import CommandHealth, Instance, Service, Topology, plan_instances

HOST = "127.0.0.1"

Loc = tuple[str | int, ...]
LinkAddress = Callable[[Instance | None, Instance, str], str | None]
"""(caller, upstream, upstream's direct address) → the link's address, or None (no link).
A None caller is the load."""


class TemplateError(ValueError):
    """A template that does not render; ``loc`` is where it sits in the topology."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class NamedPorts(dict[str, int]):
    """``ports.NAME``; a name the service does not declare says which it does."""

    def __missing__(self, name: str) -> int:
        raise TemplateError((), f"no port {name!r}; the ports declared are "
                                f"{', '.join(self) or 'none'}")


@dataclass(frozen=True)
class PeerView:
    """What ``instances(SERVICE)`` yields for one instance."""

    id: str
    service: str
    zone: str
    region: str
    host: str
    port: int
    ports: Mapping[str, int]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@cache
def _environment() -> jinja2.Environment:
    # Not autoescaped: the output is argv and config files, not HTML.
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


@cache
def _compile(source: str) -> jinja2.Template:
    return _environment().from_string(source)


class Renderer:
    """Renders one topology's templates, given every instance's named ports."""

    def __init__(self, topology: Topology, ports: Mapping[str, Mapping[str, int]], *,
                 disabled: frozenset[str] = frozenset(),
                 data_dir: Callable[[Instance], str] = lambda i: "",
                 link_address: LinkAddress | None = None) -> None:
        self.topology = topology
        self.ports = ports
        self.disabled = disabled
        self._data_dir = data_dir
        self._link_address = link_address
        self._instances = plan_instances(topology)

    def names(self, instance: Instance | None) -> dict[str, object]:
        """The template namespace for ``instance`` (None: the load, which is no instance)."""
        names: dict[str, object] = {
            "host": HOST, "python": sys.executable, "disabled": sorted(self.disabled),
            "instances": lambda service: self._peers(instance, service),
        }
        if instance is not None:
            ports = NamedPorts(self.ports[instance.id])
            names.update(instance=instance.id, service=instance.service, zone=instance.zone,
                         region=instance.region, port=next(iter(ports.values())), ports=ports,
                         data_dir=self._data_dir(instance))
        return names

    def render(self, source: str, names: Mapping[str, object], loc: Loc) -> str:
        """``source`` rendered; a TemplateError naming ``loc`` if it cannot be."""
        try:
            return _compile(source).render(names)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(loc, f"template syntax error on its line {error.lineno}: "
                                     f"{error.message}") from None
        except jinja2.UndefinedError as error:
            raise TemplateError(loc, f"{error.message} (names: "
                                     f"{', '.join(sorted(names))})") from None
        except TemplateError as error:
            raise TemplateError(loc, error.message) from None
        except Exception as error:  # a filter or a test a user's template misused
            raise TemplateError(loc, f"{type(error).__name__}: {error}") from None

    def command(self, instance: Instance) -> tuple[str, ...]:
        index, service = self._service(instance)
        names = self.names(instance)
        return tuple(self.render(arg, names, ("services", index, "command", i))
                     for i, arg in enumerate(service.command))

    def env(self, instance: Instance) -> dict[str, str]:
        index, service = self._service(instance)
        names = self.names(instance)
        return {key: self.render(value, names, ("services", index, "env", key))
                for key, value in service.env.items()}

    def files(self, instance: Instance) -> dict[str, str]:
        index, service = self._service(instance)
        names = self.names(instance)
        return {path: self.render(text, names, ("services", index, "files", path))
                for path, text in service.files.items()}

    def sources(self, instance: Instance) -> list[tuple[Loc, str]]:
        """Every template of the instance's service, with where it sits."""
        index, service = self._service(instance)
        at: Loc = ("services", index)
        health = service.health.command if isinstance(service.health, CommandHealth) else ()
        return [*(((*at, "command", i), arg) for i, arg in enumerate(service.command)),
                *(((*at, "env", key), value) for key, value in service.env.items()),
                *(((*at, "files", path), text) for path, text in service.files.items()),
                *(((*at, "health", "command", i), arg) for i, arg in enumerate(health))]

    def _service(self, instance: Instance) -> tuple[int, Service]:
        for index, service in enumerate(self.topology.services):
            if service.name == instance.service:
                return index, service
        raise KeyError(instance.service)

    def _peers(self, caller: Instance | None, service: str) -> list[PeerView]:
        removed = {name for d in self.topology.defences.values() for name in d.remove}
        if service in removed and service not in {s.name for s in self.topology.services}:
            return []  # not started: its defence is disabled
        if service not in {s.name for s in self.topology.services}:
            # Raised inside the template, re-raised by render() with its location.
            raise TemplateError((), f"instances({service!r}): unknown service; expected one "
                                    f"of {', '.join(s.name for s in self.topology.services)}")
        peers = []
        for upstream in self._instances:
            if upstream.service != service:
                continue
            ports = NamedPorts(self.ports[upstream.id])
            host, port = HOST, next(iter(ports.values()))
            if self._link_address is not None:
                linked = self._link_address(caller, upstream, f"{HOST}:{port}")
                if linked is not None:
                    host, _, number = linked.rpartition(":")
                    port = int(number)
            peers.append(PeerView(id=upstream.id, service=upstream.service, zone=upstream.zone,
                                  region=upstream.region, host=host, port=port, ports=ports))
        return peers


def placeholder_ports(topology: Topology) -> dict[str, dict[str, int]]:
    """Distinct made-up ports for every instance: enough to check templates render."""
    ports: dict[str, dict[str, int]] = {}
    number = 10000
    for instance in plan_instances(topology):
        names = topology.service(instance.service).ports
        ports[instance.id] = {name: number + i for i, name in enumerate(names)}
        number += len(names)
    return ports


def check_templates(topology: Topology) -> list[TemplateError]:
    """Every template rendered for every instance, as planned with nothing and with each
    declared defence disabled; the errors found (at most one per template)."""
    problems: dict[Loc, TemplateError] = {}
    for disabled in _variants(topology):
        running = topology.without_defences(disabled)
        renderer = Renderer(running, placeholder_ports(running), disabled=disabled,
                            data_dir=lambda i: f"/data/{i.id}")
        for instance in plan_instances(running):
            names = renderer.names(instance)
            for loc, source in renderer.sources(instance):
                try:
                    renderer.render(source, names, loc)
                except TemplateError as error:
                    # Located in ``running``: map the service index back to the topology's.
                    problems.setdefault(_original_loc(topology, running, error.loc), error)
    return [TemplateError(loc, error.message) for loc, error in problems.items()]


def check_load_env(topology: Topology, env: Mapping[str, str]) -> list[TemplateError]:
    """The load's environment rendered as with nothing and each declared defence disabled."""
    problems: dict[Loc, TemplateError] = {}
    for disabled in _variants(topology):
        running = topology.without_defences(disabled)
        renderer = Renderer(running, placeholder_ports(running), disabled=disabled)
        names = renderer.names(None)
        for key, value in env.items():
            try:
                renderer.render(value, names, ("load", "env", key))
            except TemplateError as error:
                problems.setdefault(error.loc, error)
    return list(problems.values())


def _variants(topology: Topology) -> list[frozenset[str]]:
    # Each defence alone: ``{% if 'x' in disabled %}`` branches are rendered both ways.
    return [frozenset(), *(frozenset({name}) for name in topology.defences)]


def _original_loc(topology: Topology, running: Topology, loc: Loc) -> Loc:
    if len(loc) >= 2 and loc[0] == "services" and isinstance(loc[1], int):
        name = running.services[loc[1]].name
        index = [s.name for s in topology.services].index(name)
        return ("services", index, *loc[2:])
    return loc
