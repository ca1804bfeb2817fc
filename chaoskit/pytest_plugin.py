"""chaoskit's pytest plugin (entry point ``pytest11``): resilience tests as ordinary tests.

Fixtures:

- ``chaos_system(topology, ...)`` — bring a topology up; returns a
  :class:`~chaoskit.testing.ChaosSystem` (load, faults as context managers,
  ``assert_steady``). A system returned or yielded by a fixture is stopped when
  that fixture is torn down (so a module-scoped fixture shares one system
  across a module); any other system at the end of the session.
- ``chaos_run(experiment_file, **overrides)`` — run a whole experiment; the
  result's ``verdict`` explains itself when an ``assert`` on it fails.
- ``chaos_experiment`` — the same for the file named by the test's marker,
  ``@pytest.mark.chaos("experiments/netflix_az.yaml", warmup="2s")``.

Whatever a test does, faults are reverted when their block exits, any fault
still in effect when a test ends is reverted then, and every process is
stopped at teardown. Each system writes journal.json and report.html under
``--chaos-reports``; processes are recorded in a state file, so
``chaoskit rollback`` cleans up after a pytest that was SIGKILLed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from chaoskit.testing import ChaosSystem, ExperimentOutcome, VerdictText, run_file

_SYSTEMS_KEY = pytest.StashKey[list[ChaosSystem]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaoskit", "chaoskit resilience tests")
    group.addoption("--chaos-platform", choices=("local", "docker"), default=None,
                    help="platform the chaos fixtures run instances on (default: local, or "
                         "the chaos_platform ini value)")
    group.addoption("--chaos-reports", default=None, metavar="DIR",
                    help="where chaos systems and runs write their reports (default: reports)")
    parser.addini("chaos_platform", "default platform for chaos fixtures", default="local")
    parser.addini("chaos_reports", "default reports folder for chaos fixtures",
                  default="reports")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: a resilience test that injects faults into real processes"
    )
    config.stash[_SYSTEMS_KEY] = []


def _platform(config: pytest.Config) -> str:
    return str(config.getoption("--chaos-platform") or config.getini("chaos_platform"))


def _reports(config: pytest.Config) -> Path:
    return Path(str(config.getoption("--chaos-reports") or config.getini("chaos_reports")))


class SystemFactory:
    """``chaos_system(...)``: start a topology and keep track of it for teardown."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config

    def __call__(self, topology: str | Path, *, disable: tuple[str, ...] = (),
                 platform: str | None = None, links: bool | None = None, seed: int = 0,
                 name: str | None = None, groups: Mapping[str, Any] | None = None,
                 ) -> ChaosSystem:
        """Start ``topology`` (a topology YAML file) and return once every instance is healthy.

        A relative path resolves against the working directory, then the calling
        file's directory and its parents. ``disable`` switches defences off.
        ``groups={"control": True}`` deploys it twice, control and experiment (faults
        go into the experiment group only; ``assert_compared`` judges one by the other).
        """
        from chaoskit.errors import ConfigError
        from chaoskit.loader.documents import read_topology_file
        from chaoskit.loader.paths import NotFound, resolve

        caller = sys._getframe(1)
        caller_file = caller.f_globals.get("__file__")
        referrer = Path(caller_file) if isinstance(caller_file, str) else None
        try:
            found = resolve(str(topology), referrer)
        except NotFound as error:
            raise ConfigError(f"topology file {error}") from None
        module = caller.f_globals.get("__name__", "tests")
        system = ChaosSystem(
            read_topology_file(found), name=name or f"pytest {module}",
            reports_dir=_reports(self._config), platform=platform or _platform(self._config),
            disabled=disable, links=links, seed=seed, referrer=referrer, groups=groups,
        )
        self._config.stash[_SYSTEMS_KEY].append(system)
        _forward_sigterm()
        return system.start()


@pytest.fixture(scope="session")
def chaos_system(pytestconfig: pytest.Config) -> Iterator[SystemFactory]:
    """A factory: ``chaos_system("targets/netflix_small.yaml")`` → a running ChaosSystem."""
    yield SystemFactory(pytestconfig)
    _close_all(pytestconfig)


@pytest.fixture
def chaos_run(pytestconfig: pytest.Config) -> Callable[..., ExperimentOutcome]:
    """``chaos_run("experiments/netflix_az.yaml", disable=["retries"], warmup="2s")``.

    Runs the whole experiment (its own topology, load and faults) and returns
    its result; settings may be overridden by keyword.
    """

    def run(path: str | Path, **overrides: Any) -> ExperimentOutcome:
        overrides.setdefault("platform", _platform(pytestconfig))
        overrides.setdefault("reports_dir", _reports(pytestconfig))
        return run_file(path, **overrides)

    return run


@pytest.fixture
def chaos_experiment(request: pytest.FixtureRequest,
                     chaos_run: Callable[..., ExperimentOutcome]) -> ExperimentOutcome:
    """The outcome of the experiment the test's marker names::

        @pytest.mark.chaos("experiments/netflix_az.yaml", warmup="2s")
        def test_gorilla(chaos_experiment):
            assert chaos_experiment.verdict == "passed"
    """
    marker = request.node.get_closest_marker("chaos")
    if marker is None or not marker.args:
        pytest.fail(f"{request.node.nodeid}: chaos_experiment needs "
                    '@pytest.mark.chaos("path/to/experiment.yaml")', pytrace=False)
    return chaos_run(marker.args[0], **marker.kwargs)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    for system in _open(item.config):
        system.note(f"test started: {item.nodeid}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """No fault outlives the test that injected it (a block not exited, a bare inject())."""
    for system in _open(item.config):
        system.revert_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        for system in _open(item.config):
            system.note(f"test {report.outcome}: {item.nodeid}")
    return report


def pytest_fixture_post_finalizer(fixturedef: pytest.FixtureDef[Any],
                                  request: pytest.FixtureRequest) -> None:
    """Stop a system when the fixture that returned (or yielded) it is torn down."""
    cached = getattr(fixturedef, "cached_result", None)
    value = cached[0] if cached else None
    if isinstance(value, ChaosSystem):
        value.close()


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object,
                              right: object) -> list[str] | None:
    """``assert outcome.verdict == "passed"`` shows the reasons and the report's path."""
    if op != "==":
        return None
    for this, other in ((left, right), (right, left)):
        if isinstance(this, VerdictText) and isinstance(other, str):
            return [f"{str(this)!r} == {str(other)!r}", *this.explain()]
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    reports = [s.report for s in config.stash.get(_SYSTEMS_KEY, []) if s.report is not None]
    if reports:
        terminalreporter.section("chaoskit reports")
        for report in reports:
            terminalreporter.write_line(str(report))


def pytest_unconfigure(config: pytest.Config) -> None:
    # Last resort (a system created outside any fixture): nothing outlives the session.
    _close_all(config)


def _open(config: pytest.Config) -> list[ChaosSystem]:
    return [s for s in config.stash.get(_SYSTEMS_KEY, []) if not s.closed]


def _close_all(config: pytest.Config) -> None:
    errors: list[BaseException] = []
    for system in reversed(_open(config)):
        try:
            system.close()
        except Exception as error:  # the next system must still be stopped
            errors.append(error)
    if errors:
        raise errors[0]


_previous_sigterm: Any = None


def _forward_sigterm() -> None:
    """SIGTERM to pytest ends the session like Ctrl-C, so finalizers stop what runs.

    Without this a ``kill`` (CI cancelling a job) ends pytest on the spot and
    leaves the instances to ``chaoskit rollback``.
    """
    global _previous_sigterm
    if _previous_sigterm is not None or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return
    with contextlib.suppress(ValueError):  # not the main thread: leave it alone

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"SIGTERM at {time.strftime('%H:%M:%S')}")

        _previous_sigterm = signal.signal(signal.SIGTERM, interrupt)
