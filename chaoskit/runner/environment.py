"""What a run stands on: the platform, the links, the load, the live view, the run folder.

SETUP builds it, TEARDOWN stops every piece of it — load first (no traffic into
a half-stopped system), then links (the proxies, then the proxy server chaoskit
started), then instances — and forgets the state file only once all of that is
done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chaoskit.context import RunContext
from chaoskit.errors import ConfigError
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import AnyEvent, History, LoadSample
from chaoskit.model.verdict import Judgement
from chaoskit.platform.base import Platform
from chaoskit.platform.deployment import plan_launches
from chaoskit.proxy.fabric import LinkFabric, needs_links
from chaoskit.runner.options import RunOptions
from chaoskit.state import RunState, rollback

if TYPE_CHECKING:
    from chaoskit.proxy.servers import ProxyServerHandle

SampleSink = Callable[[LoadSample], None]


class Environment:
    """The real environment of a run: processes, proxies and Locust on 127.0.0.1."""

    def __init__(self, experiment: Experiment, options: RunOptions, run_dir: Path) -> None:
        self.experiment = experiment
        self.options = options
        self.run_dir = run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state = RunState(run_id=run_dir.name)
        self.platform: Platform | None = None
        self.load: object | None = None
        self.proxy_server: ProxyServerHandle | None = None
        self.fabric: LinkFabric | None = None
        self.started = time.time()
        self.view = None if options.quiet else _make_view(experiment, options)

    async def setup(self, history: History, on_sample: SampleSink) -> RunContext:
        if self.view is not None:
            self.view.start()
        for line in await rollback():
            self.say(f"cleaned up after an earlier crashed run: {line.strip()}")
        self.platform = self._make_platform()
        fabric = await self._open_links()
        topology = self.experiment.topology
        # Without a topology (a user's own containers, by label) chaoskit starts nothing.
        launches = [] if topology is None else plan_launches(
            topology, base_dir=self.experiment.base_dir,
            data_dir=self.run_dir / "data", disabled=self.options.disabled,
            link_address=fabric.link_address if fabric else None,
            ports=fabric.instance_ports if fabric else None,
        )
        if fabric is not None:
            await fabric.create()  # before any instance can dial a link
        ctx = RunContext(
            experiment=self.experiment, platform=self.platform, launches=launches,
            history=history, run_dir=self.run_dir, rng=None,  # type: ignore[arg-type]
            fabric=fabric, disabled=self.options.disabled,
        )
        ctx.listeners.append(self.notify)
        await self.platform.start(launches)
        ctx.entry_url = self._entry_url(ctx)
        if self.experiment.load is not None:
            from chaoskit.load.driver import LoadDriver

            driver = LoadDriver()
            self.load = driver
            await driver.start(self.experiment.load, host=ctx.entry_url, run_dir=self.run_dir,
                               on_sample=on_sample, state=self.state,
                               max_duration=self.experiment.settings.max_duration,
                               base_dir=self.experiment.base_dir)
        return ctx

    async def teardown(self) -> None:
        from chaoskit.load.driver import LoadDriver

        if isinstance(self.load, LoadDriver):
            await self.load.stop()
        # Links go before instances (DESIGN §4): with no load, nothing is in flight on them.
        if self.fabric is not None:
            await self.fabric.close()
        if self.proxy_server is not None:
            await self.proxy_server.close()
        if self.platform is not None:
            await self.platform.close()
        if self.state.proxies:
            self.say("some proxies could not be deleted; `chaoskit rollback` will retry")
        else:
            self.state.close()

    async def _open_links(self) -> LinkFabric | None:
        """The proxy server and the fabric, when the method needs links (see needs_links)."""
        topology = self.experiment.topology
        if topology is None or not needs_links(self.experiment.method, self.options.links):
            return None
        from chaoskit.proxy.servers import ProxyServerHandle, ServerKind, open_proxy_server

        kind: ServerKind = "toxiproxy" if self.options.proxy == "toxiproxy" else "embedded"
        # A child process, not this loop: probes and load sampling must not slow the
        # bytes, nor the proxied bytes the runner. Its pid is in the state file.
        self.proxy_server = await open_proxy_server(
            kind, self.state, in_process=False, log=self.run_dir / "proxy-server.log")
        # A bare handle is a server chaoskit did not start (CHAOSKIT_TOXIPROXY_URL): only
        # then are proxies recorded one by one, and named apart from other runs' proxies.
        external = type(self.proxy_server) is ProxyServerHandle
        self.fabric = LinkFabric(topology, self.proxy_server.url,
                                 state=self.state if external else None,
                                 namespace=self.run_dir.name if external else "")
        return self.fabric

    def write_reports(self, history: History, judgement: Judgement, ttr: float | None) -> None:
        from chaoskit.report import write_reports
        from chaoskit.report.journal import Journal, RunOptionsRecord

        journal = Journal(
            run_id=self.run_dir.name, experiment=self.experiment,
            options=RunOptionsRecord(platform=self.options.platform, proxy=self.options.proxy,
                                     disabled=sorted(self.options.disabled),
                                     dry_run=self.options.dry_run),
            started=self.started, ended=time.time(), judgement=judgement,
            time_to_recover=ttr, history=history,
        )
        try:
            write_reports(self.run_dir, journal)
        finally:
            # The live view owns the terminal (hidden cursor): give it back whatever happens.
            if self.view is not None:
                self.view.stop(judgement, self.run_dir)

    def notify(self, event: AnyEvent) -> None:
        if self.view is not None:
            self.view.event(event)

    def say(self, message: str) -> None:
        if not self.options.quiet:
            print(f"chaoskit: {message}", file=sys.stderr)

    def log(self, message: str) -> None:
        with (self.run_dir / "run.log").open("a") as out:
            out.write(message + "\n")

    def _make_platform(self) -> Platform:
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        if self.options.platform == "local":
            from chaoskit.platform.local import LocalPlatform

            return LocalPlatform(self.state, logs)
        if self.options.platform == "docker":
            from chaoskit.platform.docker import DockerPlatform

            docker = self.experiment.topology.docker if self.experiment.topology else None
            return DockerPlatform(self.state, self.run_dir.name, logs,
                                  engines=docker.engines if docker else None, say=self.say)
        raise ConfigError(f"unknown platform {self.options.platform!r}; expected local or docker",
                          field="--platform")

    def _entry_url(self, ctx: RunContext) -> str:
        load = self.experiment.load
        if load is not None and load.host:
            return load.host
        topology = self.experiment.topology
        assert topology is not None, "the model requires load.host without a topology"
        return f"http://{ctx.address_of(topology.entrypoint)}"


def _make_view(experiment: Experiment, options: RunOptions):  # type: ignore[no-untyped-def]
    from chaoskit.report.terminal import make_view

    settings = experiment.settings
    expected = settings.warmup + 10 + experiment.fault_end() + 20
    return make_view(experiment.title, plain=options.plain, expected_seconds=expected)
