"""What a run stands on: the platform, the links, the live view, the run folder.

SETUP builds it; TEARDOWN stops every piece of it — links first (the proxies,
then the proxy server chaoskit started), then instances — and forgets the
state file only once all of that is done. The load is the session's: it
stops before any of this (no traffic into a half-stopped system).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast, get_args

from chaoskit.context import RunContext
from chaoskit.errors import ConfigError, PlatformError
from chaoskit.load.buckets import CohortSettings
from chaoskit.model.defences import unknown_defences
from chaoskit.model.experiment import Experiment, LoadSpec, LoadTarget, Observability
from chaoskit.model.history import CONTROL_PREFIX, AnyEvent, Group, History
from chaoskit.model.topology import Topology
from chaoskit.platform.base import Platform
from chaoskit.platform.deployment import draw_ports, plan_launches
from chaoskit.platform.registry import PlatformSite, make_platform
from chaoskit.proxy.fabric import LinkFabric, needs_links
from chaoskit.proxy.servers import ServerKind
from chaoskit.runner.options import RunOptions
from chaoskit.state import RunState, rollback
from chaoskit.templates import Renderer, TemplateError

DRAWS = 20
"""Tries at drawing a deployment's ports apart from the other group's (one in ~300 overlaps)."""

if TYPE_CHECKING:
    from chaoskit.proxy.servers import ProxyServerHandle
    from chaoskit.report.terminal import View
    from chaoskit.runner.prometheus import PrometheusServer


class Environment:
    """The real environment of a run: processes and proxies on 127.0.0.1, and the run folder.

    With two deployments (``groups: {control: true}``) a run stands on two: the
    experiment group's, which owns the live view and the state file, and the control
    group's (``group="control"``, its folder ``<run>/control``), which records into the
    same state file so that ``chaoskit rollback`` finds both groups' processes.
    """

    def __init__(self, experiment: Experiment, options: RunOptions, run_dir: Path, *,
                 group: Group = "", state: RunState | None = None,
                 reserved: set[int] | None = None) -> None:
        if options.proxy not in get_args(ServerKind):
            raise ConfigError(f"unknown proxy server {options.proxy!r}; expected "
                              f"{' or '.join(get_args(ServerKind))}", field="--proxy")
        topology = experiment.topology
        unknown = unknown_defences(options.disabled, topology.defences if topology else ())
        if unknown:
            raise ConfigError(unknown, field="--disable")
        # The system as it runs: a disabled topology defence's services are not started.
        if topology is not None and topology.defences:
            experiment = experiment.model_copy(
                update={"topology": topology.without_defences(options.disabled)})
        if group == "control":
            # The control group is the same system without what only observes the run.
            experiment = experiment.model_copy(update={"observability": Observability()})
        self.experiment = experiment
        self.options = options
        self.group = group
        self.run_dir = run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.owns_state = state is None
        """The first deployment's environment forgets the state file, once all are down."""
        self.state = state if state is not None else RunState(run_id=run_dir.name)
        self.reserved = reserved if reserved is not None else set()
        """Ports drawn by every deployment of the run: two set up at once draw apart (a
        port is only known taken once its instance binds it, seconds after the draw)."""
        self.platform: Platform | None = None
        self.proxy_server: ProxyServerHandle | None = None
        self.fabric: LinkFabric | None = None
        self.prometheus: PrometheusServer | None = None
        self.started = time.time()
        self.view: View | None = None if options.quiet or not self.owns_state else \
            _make_view(experiment, options)

    async def setup(self, history: History, rng: random.Random) -> RunContext:
        """Start the links and every instance; return the context faults and probes see."""
        if self.view is not None:
            self.view.start()
        if self.owns_state:  # the control group's is set up second, in the same run
            for line in await rollback():
                self.say(f"cleaned up after an earlier crashed run: {line.strip()}")
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        if self.experiment.observability.prometheus:
            from chaoskit.runner.prometheus import find_prometheus

            find_prometheus()  # a missing binary is said before anything starts
        topology = self.experiment.topology
        # Apart from the experiment's: Docker names containers after the run id.
        run_id = self.state.run_id + (f"-{self.group}" if self.group == "control" else "")
        self.platform = make_platform(self.options.platform, PlatformSite(
            state=self.state, run_id=run_id, logs=logs, topology=topology, say=self.say,
            label=CONTROL_PREFIX if self.group == "control" else ""))
        fabric = await self._open_links()
        # Without a topology (a user's own containers, by label) chaoskit starts nothing.
        launches = [] if topology is None else plan_launches(
            topology, base_dir=self.experiment.base_dir,
            data_dir=self.run_dir / "data", disabled=self.options.disabled,
            link_address=fabric.link_address if fabric else None,
            ports=fabric.instance_ports if fabric else self._draw_apart(topology),
        )
        if fabric is not None:
            await fabric.create()  # before any instance can dial a link
        ctx = RunContext(
            experiment=self.experiment, platform=self.platform, launches=launches,
            history=history, run_dir=self.run_dir, rng=rng, fabric=fabric,
            disabled=self.options.disabled,
        )
        ctx.listeners.append(self.notify)
        if self.experiment.observability.prometheus:
            # Before the instances: Prometheus hands targets to its scrapers on a 5 s
            # tick, which then passes while the instances start instead of after.
            await self._start_prometheus(ctx)
        await self.platform.start(launches)
        if self.prometheus is not None:
            await self.prometheus.wait_scraping()
            started = (f"Prometheus at {self.prometheus.url}: ready in "
                       f"{self.prometheus.ready_seconds:.2f}s, every instance scraped "
                       f"{self.prometheus.scraping_seconds:.2f}s after its start")
            self.log(started)
            self.say(started)
        load = self.experiment.load
        ctx.entry_url = self.load_host(load, ctx) if load is not None else self._entry_url(ctx)
        return ctx

    def load_host(self, load: LoadSpec, ctx: RunContext) -> str:
        """Locust's ``--host``: ``load.host``, else ``load.target``'s first instance, else
        the entry point's."""
        topology = self.experiment.topology
        if load.host or topology is None:
            return load.host or ""
        if load.target is None and not load.through_link:
            return self._entry_url(ctx)
        target = load.target or LoadTarget(service=topology.entrypoint)
        for launch in ctx.launches:
            if launch.instance.service == target.service:
                port = launch.ports[target.port] if target.port else launch.port
                address = f"{launch.host}:{port}"
                if load.through_link and self.fabric is not None:
                    address = self.fabric.link_address(None, launch.instance, address)
                return f"{target.scheme}://{address}"
        raise ConfigError(f"load.target: service {target.service!r} has no instance running",
                          field="load.target")

    def load_env(self, load: LoadSpec, ctx: RunContext) -> dict[str, str]:
        """``load.env`` rendered (the templates see every instance's direct address, or
        with ``load.through_link`` its link's), and with cohorts of one deployment
        (``groups.share``) the share and header the Locust glue marks requests with."""
        return {**self._rendered_env(load, ctx), **self.cohort_env()}

    def cohort_env(self) -> dict[str, str]:
        """The cohorts' share, header and seed for the Locust glue in FIT mode, else none.

        The experiment's seed makes the per-request cohort draw repeatable, like every
        other random choice of a run.
        """
        groups = self.experiment.groups
        if groups.share is None:
            return {}
        return CohortSettings(share=groups.share, header=groups.header,
                              seed=self.experiment.settings.seed).environ()

    def _rendered_env(self, load: LoadSpec, ctx: RunContext) -> dict[str, str]:
        topology = self.experiment.topology
        if not load.env:
            return {}
        if topology is None:
            return dict(load.env)
        through = self.fabric if load.through_link else None
        renderer = Renderer(topology, {la.instance.id: la.ports for la in ctx.launches},
                            disabled=self.options.disabled,
                            link_address=through.link_address if through else None)
        names = renderer.names(None)
        try:
            return {key: renderer.render(value, names, ("load", "env", key))
                    for key, value in load.env.items()}
        except TemplateError as error:
            raise ConfigError(error.message, field=".".join(map(str, error.loc))) from None

    async def teardown(self) -> None:
        # Prometheus first: instances stopping under it would only be scrape errors.
        if self.prometheus is not None:
            await self.prometheus.close()
        # Links go before instances (DESIGN §4): with no load, nothing is in flight on them.
        if self.fabric is not None:
            await self.fabric.close()
        if self.proxy_server is not None:
            await self.proxy_server.close()
        if self.platform is not None:
            await self.platform.close()
        if not self.owns_state:
            return  # the experiment group's environment closes the shared file, last
        if self.state.proxies:
            self.say("some proxies could not be deleted; `chaoskit rollback` will retry")
        else:
            self.state.close()

    async def _start_prometheus(self, ctx: RunContext) -> None:
        """The run's own Prometheus, scraping every instance (``observability.prometheus``)."""
        from chaoskit.runner.prometheus import PrometheusServer

        self.prometheus = await PrometheusServer.start(
            self.experiment.topology, ctx.launches, folder=self.run_dir / "prometheus",
            state=self.state, scraped=False)
        ctx.prometheus_url = self.prometheus.url

    async def _open_links(self) -> LinkFabric | None:
        """The proxy server and the fabric, when the method needs links (see needs_links)."""
        topology = self.experiment.topology
        load = self.experiment.load
        through_link = load is not None and load.through_link
        if topology is None and not self.experiment.proxies:
            return None
        if topology is not None and not through_link \
                and not needs_links(self.experiment.method, self.options.links):
            return None
        from chaoskit.proxy.servers import ProxyServerHandle, open_proxy_server

        kind = cast(ServerKind, self.options.proxy)  # checked against ServerKind in __init__
        # A child process, not this loop: probes and load sampling must not slow the
        # bytes, nor the proxied bytes the runner. Its pid is in the state file.
        self.proxy_server = await open_proxy_server(
            kind, self.state, in_process=False, log=self.run_dir / "proxy-server.log")
        # A bare handle is a server chaoskit did not start (CHAOSKIT_TOXIPROXY_URL): only
        # then are proxies recorded one by one, and named apart from other runs' proxies.
        external = type(self.proxy_server) is ProxyServerHandle
        namespace = self.run_dir.name if external else ""
        if external and self.group == "control":
            namespace = f"{self.state.run_id}-control"  # apart from the experiment's
        for _ in range(DRAWS):
            fabric = LinkFabric(topology, self.proxy_server.url,
                                state=self.state if external else None, namespace=namespace,
                                through_link=through_link, proxies=self.experiment.proxies)
            drawn = {p for ports in fabric.instance_ports.values() for p in ports.values()}
            drawn |= {link.port for link in fabric.links} if topology is not None else set()
            if not drawn & self.reserved:
                self.reserved |= drawn
                break
            await fabric.close()  # nothing created yet: only its client
        else:
            raise PlatformError("could not draw ports apart from the other group's deployment")
        self.fabric = fabric
        return self.fabric

    def _draw_apart(self, topology: Topology) -> dict[str, dict[str, int]]:
        """Every instance's ports, none the run's other deployment drew."""
        for _ in range(DRAWS):
            ports, _ = draw_ports(topology)
            drawn = {p for named in ports.values() for p in named.values()}
            if not drawn & self.reserved:
                self.reserved |= drawn
                return ports
        raise PlatformError("could not draw ports apart from the other group's deployment")

    def notify(self, event: AnyEvent) -> None:
        if self.view is not None:
            self.view.event(event)

    def say(self, message: str) -> None:
        if not self.options.quiet:
            group = f"{self.group} group: " if self.group == "control" else ""
            print(f"chaoskit: {group}{message}", file=sys.stderr)

    def log(self, message: str) -> None:
        with (self.run_dir / "run.log").open("a") as out:
            out.write(message + "\n")

    def _entry_url(self, ctx: RunContext) -> str:
        topology = self.experiment.topology
        if topology is None:
            return ""  # a user's containers without load: no entry point to send to
        try:
            return f"http://{ctx.address_of(topology.entrypoint)}"
        except KeyError:
            if self.experiment.load is None:
                return ""  # removed by a disabled defence, and nothing to send load to
            raise ConfigError(f"the entry point {topology.entrypoint!r} is not started (a "
                              "disabled defence removes it): give the load a target",
                              field="load.target") from None


def _make_view(experiment: Experiment, options: RunOptions) -> View:
    from chaoskit.report.terminal import make_view

    settings = experiment.settings
    expected = settings.warmup + 10 + experiment.fault_end() + 20
    return make_view(experiment.title, plain=options.plain, expected_seconds=expected)
