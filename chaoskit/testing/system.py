"""A topology brought up for tests: load, faults as context managers, steady-state checks.

The lifecycle is the runner's own :class:`~chaoskit.runner.Session` — the same
setup, state file for ``chaoskit rollback``, load, readings, fault steps,
revert, teardown and reports a ``chaoskit run`` has. What differs is who
drives: the test, step by step, instead of the experiment's schedule; and
the verdict, judged from the checks the tests made (``judge_checks``).
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from chaoskit.context import RunContext
from chaoskit.errors import ChaoskitError, ConfigError, FaultError, LoadError
from chaoskit.load.driver import READY_TIMEOUT, LoadDriver
from chaoskit.load.window import WindowStats
from chaoskit.loader.paths import NotFound, resolve
from chaoskit.loader.references import unknown_references
from chaoskit.model.experiment import Experiment, Groups, LoadSpec, Settings, SteadyStateProbe
from chaoskit.model.faults import FaultBase, FaultSpec
from chaoskit.model.history import FaultEvent, FaultStep, History, Note, Phase, ProbeReading
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Tolerance
from chaoskit.model.topology import Topology
from chaoskit.model.verdict import Judging
from chaoskit.platform.base import InstanceStatus
from chaoskit.runner import ACTUATION_TIMEOUT, RunOptions, ScheduledFault, Session
from chaoskit.testing.loop import LoopThread
from chaoskit.testing.steady import (
    SteadyCheck,
    SteadyStateViolation,
    compared_probes,
    fault_context,
    load_probes,
)

START_TIMEOUT = 180.0
"""Bringing a topology up waits for every instance's health (the platform's own 60 s bound)."""
CALL_SLACK = 30.0
"""Added to the inner bounds (actuation, Locust start) so those report first, with detail."""

_PLACEHOLDER = SteadyStateProbe(name="load success ratio",
                                probe=LoadProbe(probe="load.success_ratio"),
                                tolerance=Tolerance(min=0.0))
"""An experiment needs a hypothesis; a system's real ones are the checks its tests make."""

_FAULT_SPEC: TypeAdapter[Any] = TypeAdapter(FaultSpec)

T = TypeVar("T")


class ChaosSystem:
    """A topology running on a platform for a group of tests; a context manager.

    Created (and started) by the ``chaos_system`` fixture; usable without pytest::

        with ChaosSystem(load_topology("targets/netflix_small.yaml"), name="demo") as system:
            with system.load("targets/load/streaming.py", users=10) as load:
                with system.zone_outage("us-east-1a"):
                    load.wait(5)
                system.assert_steady(load, success_ratio=0.99, window=5)
    """

    def __init__(
        self,
        topology: Topology,
        *,
        name: str,
        reports_dir: Path = Path("reports"),
        platform: str = "local",
        proxy: str = "embedded",
        disabled: Sequence[str] = (),
        links: bool | None = None,
        seed: int = 0,
        referrer: Path | None = None,
        groups: Groups | Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.topology = topology
        self._referrer = referrer
        try:
            chosen = Groups.model_validate(groups or {})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in ("groups", *first["loc"]))
            raise ConfigError(first["msg"], field=where) from None
        self._experiment = Experiment(title=name, topology=topology, steady_state=(_PLACEHOLDER,),
                                      settings=Settings(seed=seed), groups=chosen)
        options = RunOptions(platform=platform, proxy=proxy, disabled=frozenset(disabled),
                             reports_dir=Path(reports_dir), quiet=True, links=links)
        self._session = Session(self._experiment, options, judging=Judging.CHECKS)
        self._loop = LoopThread(f"chaoskit {name}")
        self._running = False
        self._blocks: list[FaultBlock] = []
        self._loads: list[Load] = []
        self._checks: list[SteadyCheck] = []
        self._closed = False
        self.report: Path | None = None
        """report.html, once the system is closed."""

    # -- life --------------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        """Where logs, the journal and report.html of this system go."""
        return self._session.run_dir

    @property
    def history(self) -> History:
        """Everything that happened to the system, as a run's journal has it."""
        return self._session.history

    @property
    def started(self) -> float:
        return self._session.started

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self) -> ChaosSystem:
        """Start every instance and return once all are healthy (stops them all on failure)."""
        try:
            self._call(self._setup(), timeout=START_TIMEOUT, what="starting the system")
        except BaseException:
            self.close()
            raise
        self._running = True
        return self

    async def _setup(self) -> None:
        self._session.enter(Phase.SETUP)
        await self._session.setup()

    def close(self) -> None:
        """Revert every fault, stop every load, stop every instance, write the report.

        Idempotent; called by the fixtures' finalizers whatever the tests did.
        """
        if self._closed:
            return
        self._closed = True
        try:
            # A call a Ctrl-C walked away from (an inject) finishes first, so it is reverted.
            self._loop.drain(ACTUATION_TIMEOUT)
            self._session.experiment = self._as_experiment()
            self._call(self._session.finish(), timeout=ACTUATION_TIMEOUT + 60,
                       what="stopping the system")
        finally:
            self._loop.stop()
            report = self.run_dir / "report.html"
            self.report = report if report.exists() else None

    def __enter__(self) -> ChaosSystem:
        return self if self._running else self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # -- what is running -----------------------------------------------------------------

    @property
    def entry_url(self) -> str:
        """Where load goes: the topology's entry point."""
        return self.ctx.entry_url

    @property
    def ctx(self) -> RunContext:
        if not self._running or self._closed:
            raise ChaoskitError(f"system {self.name} is not running")
        return self._session.ctx

    def instances(self, group: str = "experiment") -> list[InstanceStatus]:
        """The state of every instance right now; with two deployments, of the experiment
        group's copy, or of the control group's with ``group="control"``."""
        ctx = self.ctx
        if group == "control":
            control = self._session.control_ctx
            if control is None:
                raise ChaoskitError(f"system {self.name} has no control group: start it with "
                                    "groups={'control': True}")
            ctx = control
        platform = ctx.platform

        async def status() -> list[InstanceStatus]:
            return platform.status()

        return self._call(status(), timeout=10, what="reading instance status")

    def note(self, message: str) -> None:
        """Put a line on the system's timeline (the plugin notes each test's start and end)."""
        if not self._closed:
            self._session.record(Note(message=message))

    def wait(self, seconds: float) -> None:
        """Let time pass (load keeps flowing, faults stay in effect); fails if the load died."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.25))
            for load in self._loads:
                load.check_alive()

    # -- load ----------------------------------------------------------------------------

    def load(self, locustfile: str | Path, *, users: int = 10, spawn_rate: float | None = None,
             slo: float = 1.0, target: Mapping[str, str] | None = None,
             env: Mapping[str, str] | None = None) -> Load:
        """Start Locust against the entry point; returns a :class:`Load` (a context manager).

        One load at a time: the steady-state probes read one stream of samples. With
        two deployments (``groups={"control": True}``) ``users`` are split evenly
        between the two groups' entry points, one Locust each.
        A relative ``locustfile`` resolves like one in an experiment: the working
        directory first, then the test file's directory and its parents.
        ``target`` and ``env`` are ``load.target`` and ``load.env`` of an experiment
        (``target={"service": "redis", "port": "client", "scheme": "redis"}``; env
        values are templates: ``"{{ instances('sentinel')[0].address }}"``).
        """
        if self._session.load is not None:
            raise ChaoskitError("a load is already running on this system; stop it first "
                                "(the steady-state probes read one stream of samples)")
        try:
            path = resolve(str(locustfile), self._referrer).path
        except NotFound as error:
            raise ConfigError(f"locustfile {error}") from None
        try:
            spec = LoadSpec.model_validate({
                "locustfile": str(path), "users": users, "spawn_rate": spawn_rate or users,
                "slo": slo, "target": target, "env": dict(env or {})})
        except ValidationError as error:
            raise ConfigError(f"load: {error.errors()[0]['msg']}") from None
        started = time.time()
        driver = self._call(self._session.start_load(spec), timeout=READY_TIMEOUT + CALL_SLACK,
                            what="starting the load")
        load = Load(self, driver, spec, started)
        self._loads.append(load)
        return load

    # -- faults --------------------------------------------------------------------------

    def zone_outage(self, zone: str, *, mode: str = "terminate") -> FaultBlock:
        """Chaos Gorilla: every instance of ``zone`` lost while the block runs."""
        return self.inject({"fault": "zone_outage", "zone": zone, "mode": mode})

    def region_outage(self, region: str, *, mode: str = "terminate") -> FaultBlock:
        """Chaos Kong: ``terminate``, ``isolate`` or ``evacuate`` a region while the block runs."""
        return self.inject({"fault": "region_outage", "region": region, "mode": mode})

    def instance_kill(self, *, service: str | None = None, zone: str | None = None,
                      region: str | None = None, instance: str | None = None,
                      count: int | None = None, percent: float | None = None) -> FaultBlock:
        """Chaos Monkey: SIGKILL ``count`` (default 1) of the selected instances (seeded)."""
        return self.inject({"fault": "instance_kill", "service": service, "zone": zone,
                            "region": region, "instance": instance, "count": count,
                            "percent": percent})

    def latency(self, latency_ms: int, *, jitter_ms: int = 0, service: str | None = None,
                zone: str | None = None, region: str | None = None) -> FaultBlock:
        """Latency Monkey: links to the selected instances wait ``latency_ms`` (needs links)."""
        return self.inject({"fault": "latency", "latency": latency_ms, "jitter": jitter_ms,
                            "service": service, "zone": zone, "region": region})

    def pause(self, *, service: str | None = None, zone: str | None = None,
              region: str | None = None, count: int | None = None) -> FaultBlock:
        """SIGSTOP the selected instances (all unless ``count``) while the block runs."""
        return self.inject({"fault": "pause", "service": service, "zone": zone,
                            "region": region, "count": count})

    def inject(self, spec: FaultBase | Mapping[str, Any]) -> FaultBlock:
        """Any fault kind, as a spec object or as it is written in YAML (``{"fault": ...}``).

        Returns a :class:`FaultBlock`: ``with`` injects on entry and reverts on
        exit, also when the block raises. Names (zone, service ...) are checked
        against the topology before anything is touched.
        """
        if isinstance(spec, Mapping):
            data = {k: v for k, v in spec.items() if v is not None}
            try:
                spec = _FAULT_SPEC.validate_python(data)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ConfigError(f"{first['msg']}", field=where or None) from None
        assert isinstance(spec, FaultBase)
        problems = unknown_references(self._experiment.model_copy(update={"method": (spec,)}))
        if problems:
            raise ConfigError("; ".join(message for _, _, message in problems))
        from chaoskit.proxy.fabric import needs_links

        if needs_links((spec,), None) and not self._session.options.links:
            # The links are proxies the instances dial from their start: they cannot
            # be added to a running system, so say how to ask for them.
            kind = getattr(spec, "fault", "this fault")
            raise ConfigError(f"{kind} acts on links, which this system was started without: "
                              "chaos_system(topology, links=True)")
        block = FaultBlock(self, self._session.add_fault(spec))
        self._blocks.append(block)
        return block

    def revert_all(self) -> None:
        """Revert every fault still in effect (the most recent first)."""
        if not self._session.faults_active or not self._loop.running:
            return
        self._call(self._session.revert_all(), timeout=ACTUATION_TIMEOUT * 2,
                   what="reverting the faults")
        for block in self._blocks:
            if block.injected_at is not None and block.reverted_at is None and not block.active:
                block.reverted_at = time.time()

    def _inject(self, scheduled: ScheduledFault) -> None:
        self._call(self._session.inject(scheduled), timeout=ACTUATION_TIMEOUT + CALL_SLACK,
                   what=f"injecting {scheduled.label}")

    def _revert(self, scheduled: ScheduledFault) -> None:
        if not self._session.is_active(scheduled):
            return
        self._call(self._session.revert(scheduled.id), timeout=ACTUATION_TIMEOUT + CALL_SLACK,
                   what=f"reverting {scheduled.label}")
        failed = [e for e in self.history.of_type(FaultEvent)
                  if e.fault == scheduled.id and e.step == FaultStep.REVERT_FAILED]
        if failed:
            raise FaultError(f"{scheduled.label}: could not revert: {failed[-1].detail}")

    # -- the steady state ----------------------------------------------------------------

    def assert_steady(self, load: Load | None = None, *, window: float = 5.0,
                      request: str | None = None, success_ratio: float | None = None,
                      failure_ratio: float | None = None, p50_ms: float | None = None,
                      p95_ms: float | None = None, p99_ms: float | None = None,
                      rps: float | None = None, goodput: float | None = None) -> SteadyCheck:
        """Hold the last ``window`` seconds of load to bounds, or fail with what deviated.

        Ratios, ``rps`` and ``goodput`` are minimums; latencies are maximums.
        The failure (:class:`SteadyStateViolation`, an AssertionError) names
        each probe, its value and tolerance, the window and the fault in effect.
        """
        __tracebackhide__ = True  # the failure is the test's line, not this one
        bounds = {"success_ratio": success_ratio, "failure_ratio": failure_ratio,
                  "p50_ms": p50_ms, "p95_ms": p95_ms, "p99_ms": p99_ms, "rps": rps,
                  "goodput": goodput}
        check = self.steady_state(*load_probes(bounds, window=window, request=request),
                                  load=load, window=window)
        if not check.ok:
            raise SteadyStateViolation(check)
        return check

    def assert_compared(self, load: Load | None = None, *, window: float = 10.0,
                        request: str | None = None, alpha: float = 0.05,
                        success_ratio: float | None = None,
                        failure_ratio: float | None = None, p50_ms: float | None = None,
                        p95_ms: float | None = None, p99_ms: float | None = None,
                        rps: float | None = None, goodput: float | None = None) -> SteadyCheck:
        """Hold the experiment group to the control group over the last ``window`` seconds
        (needs ``groups={"control": True}``), or fail with both groups' values and p.

        Margins: ratios, ``rps`` and ``goodput`` may drop at most this much below the
        control's (``success_ratio=0.01``), ``failure_ratio`` rise at most this much, and
        latencies be at most this many times the control's (``p99_ms=1.5``). A difference
        beyond the margin fails only when the one-sided test says it is significant at
        ``alpha`` (``chaoskit.checks.compare``).
        """
        __tracebackhide__ = True
        if not self._experiment.groups.control:
            raise ChaoskitError(f"system {self.name} has no control group to compare with: "
                                "start it with groups={'control': True}")
        margins = {"success_ratio": success_ratio, "failure_ratio": failure_ratio,
                   "p50_ms": p50_ms, "p95_ms": p95_ms, "p99_ms": p99_ms, "rps": rps,
                   "goodput": goodput}
        check = self.steady_state(*compared_probes(margins, window=window, request=request,
                                                   alpha=alpha), load=load, window=window)
        if not check.ok:
            raise SteadyStateViolation(check)
        return check

    def steady_state(self, *probes: SteadyStateProbe, load: Load | None = None,
                     window: float | None = None) -> SteadyCheck:
        """Read any probes (load, HTTP, instances, metrics, invariants) now; never raises.

        Load probes wait until the load holds ``window`` seconds of samples.
        """
        if not probes:
            raise TypeError("steady_state needs at least one probe")
        compared = [p.name for p in probes if p.compare is not None]
        if compared and not self._experiment.groups.control:
            raise ChaoskitError(f"{', '.join(compared)}: compare needs a control group; start "
                                "the system with groups={'control': True}")
        windowed = [p.probe.window for p in probes if isinstance(p.probe, LoadProbe)]
        seconds = window if window is not None else max(windowed, default=0.0)
        since = None
        if windowed:
            current = load or next((x for x in reversed(self._loads) if x.running), None)
            if current is None or not current.running:
                raise ChaoskitError("the steady state is measured on load: start one with "
                                    "system.load(locustfile) first")
            current.check_alive()
            since = current.started
        active = [b.label for b in self._blocks if b.active]
        reverted = [(b.label, time.time() - b.reverted_at) for b in self._blocks
                    if b.reverted_at is not None]
        reverted.sort(key=lambda item: -item[1])
        context = fault_context(active, reverted)
        phase = Phase.OBSERVE if active else Phase.VERIFY if reverted else Phase.BASELINE
        readings = self._call(self._read(probes, phase, since, seconds, context),
                              timeout=seconds + 60, what="reading the steady state")
        check = SteadyCheck(probes=tuple(probes), readings=tuple(readings), window=seconds,
                            context=context, report=str(self.run_dir / "report.html"))
        self._checks.append(check)
        return check

    async def _read(self, probes: Sequence[SteadyStateProbe], phase: Phase, since: float | None,
                    window: float, context: str) -> list[ProbeReading]:
        if since is not None:
            await self._session.cover(since, window)
        readings = await self._session.read(probes, phase=phase, role="steady_state",
                                            since=since, window=window or None, detail=context)
        return [event for event, _ in readings]

    # -- helpers -------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float, what: str) -> T:
        return self._loop.call(coro, timeout=timeout, what=what)

    def _as_experiment(self) -> Experiment:
        """The system as an experiment for its journal: its checks as the hypothesis, the
        faults its tests injected as the method."""
        probes: dict[str, SteadyStateProbe] = {}
        for check in self._checks:
            for probe in check.probes:
                probes.setdefault(probe.name, probe)
        return self._experiment.model_copy(update={
            "steady_state": tuple(probes.values()) or (_PLACEHOLDER,),
            "method": tuple(b.spec for b in self._blocks if b.injected_at is not None),
            "load": self._loads[-1].spec if self._loads else None,
        })


class Load:
    """Locust traffic running against a system, from ``system.load()`` until ``stop()``."""

    def __init__(self, system: ChaosSystem, driver: LoadDriver, spec: LoadSpec,
                 started: float) -> None:
        self.system = system
        self.driver = driver
        self.spec = spec
        self.started = started
        self.stopped = False
        """Stopped on purpose: its Locust exiting is then no failure."""

    @property
    def running(self) -> bool:
        return self.driver.running and not self.stopped

    def wait(self, seconds: float) -> None:
        """Keep the load going for ``seconds`` (faults in effect stay in effect)."""
        self.system.wait(seconds)

    def stats(self, window: float = 5.0, request: str | None = None) -> WindowStats:
        """The traffic of the last ``window`` seconds, as the probes see it."""
        return self.system._session.load_stats(window, since=self.started, request=request)

    def check_alive(self) -> None:
        """Raise LoadError when Locust (either group's) died by itself: no traffic is no
        steady state."""
        if self.stopped:
            return
        for driver in self.system._session.load_drivers(self.driver):
            if driver.exit_code is not None and driver.log_path is not None:
                from chaoskit.load.driver import failure_reason

                raise LoadError(f"Locust exited (code {driver.exit_code}): "
                                f"{failure_reason(driver.log_path)}")

    def stop(self) -> None:
        """Stop Locust (both groups') and wait until no process of it is left. Idempotent."""
        self.stopped = True
        if self.system._loop.running:
            self.system._call(self.system._session.stop_load(self.driver), timeout=60,
                              what="stopping the load")

    def __enter__(self) -> Load:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class FaultBlock:
    """One fault: ``with`` injects it on entry and reverts it on exit — also when the block
    raises — or call :meth:`inject` and :meth:`revert` yourself."""

    def __init__(self, system: ChaosSystem, scheduled: ScheduledFault) -> None:
        self.system = system
        self.scheduled = scheduled
        self.injected_at: float | None = None
        self.reverted_at: float | None = None

    @property
    def spec(self) -> FaultBase:
        return self.scheduled.spec

    @property
    def label(self) -> str:
        return self.scheduled.label

    @property
    def active(self) -> bool:
        return self.system._session.is_active(self.scheduled)

    @property
    def targets(self) -> tuple[str, ...]:
        """The instances (or links) the fault hit; empty before it is injected."""
        return self.system._session.injection_targets(self.scheduled)

    def inject(self) -> FaultBlock:
        """Inject now; return once the fault is in effect."""
        if self.active:
            raise FaultError(f"{self.label} is already in effect")
        self.system._inject(self.scheduled)
        self.injected_at = time.time()
        return self

    def revert(self) -> None:
        """Revert now if in effect; return once the system is restored. Idempotent."""
        if self.active:
            self.system._revert(self.scheduled)
            self.reverted_at = time.time()

    def __enter__(self) -> FaultBlock:
        return self.inject()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.revert()

    def __repr__(self) -> str:
        return f"<FaultBlock {self.label}{' (in effect)' if self.active else ''}>"
