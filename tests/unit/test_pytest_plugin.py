"""The pytest plugin's pure parts: bounds → probes, failure messages, verdicts, the loop thread.

No process is started here; the plugin against real processes is in
``tests/integration/plugin``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chaoskit import pytest_plugin
from chaoskit.errors import ChaoskitError, ConfigError
from chaoskit.loader import load_experiment
from chaoskit.loader.documents import read_topology_file
from chaoskit.loader.paths import resolve
from chaoskit.model.history import Phase, ProbeReading
from chaoskit.model.tolerance import Tolerance
from chaoskit.testing import ChaosSystem, SteadyCheck, SteadyStateViolation, VerdictText
from chaoskit.testing.loop import LoopThread
from chaoskit.testing.outcome import with_overrides
from chaoskit.testing.steady import fault_context, load_probes

ROOT = Path(__file__).resolve().parents[2]


def test_bounds_read_in_the_direction_each_statistic_is_good_in() -> None:
    probes = load_probes({"success_ratio": 0.99, "p99_ms": 500, "rps": None}, window=5)
    by_metric = {p.probe.probe: p for p in probes}
    assert set(by_metric) == {"load.success_ratio", "load.p99_ms"}
    assert by_metric["load.success_ratio"].tolerance.min == 0.99
    assert by_metric["load.p99_ms"].tolerance.max == 500
    assert by_metric["load.p99_ms"].name == "p99_ms ≤ 500 ms"
    assert all(p.probe.window == 5 for p in probes)  # type: ignore[union-attr]


def test_a_bound_that_does_not_exist_or_none_at_all_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unknown steady-state bound p42_ms"):
        load_probes({"p42_ms": 1.0}, window=5)
    with pytest.raises(TypeError, match="at least one bound"):
        load_probes({"success_ratio": None}, window=5)


def _reading(name: str, value: float | None, ok: bool, detail: str = "") -> ProbeReading:
    return ProbeReading(phase=Phase.OBSERVE, role="steady_state", name=name, value=value, ok=ok,
                        tolerance=Tolerance(min=0.99), detail=detail)


def test_a_violation_names_probe_value_tolerance_window_and_fault() -> None:
    probes = load_probes({"success_ratio": 0.99, "p99_ms": 500}, window=5)
    context = fault_context(["zone_outage us-east-1a (terminate)"], [])
    check = SteadyCheck(
        probes=probes,
        readings=(_reading(probes[0].name, 0.6123, False,
                           f"{context}; 400 requests, 155 failed, over 5s"),
                  _reading(probes[1].name, 230.0, True, context)),
        window=5, context=context, report="reports/x/report.html")
    message = str(SteadyStateViolation(check))
    assert message.splitlines() == [
        "steady state did not hold over the last 5s while zone_outage us-east-1a (terminate) "
        "was in effect:",
        "  ✗ load.success_ratio over 5 s: 61.23%, tolerance ≥ 99% "
        "(400 requests, 155 failed, over 5s)",
        "  ✓ load.p99_ms over 5 s: 230 ms, tolerance ≤ 500 ms",
        "report: reports/x/report.html",
    ]
    assert isinstance(SteadyStateViolation(check), AssertionError)
    assert not check.ok and [r.name for r in check.failed] == [probes[0].name]


def test_no_data_is_said_as_such() -> None:
    probes = load_probes({"success_ratio": 0.99}, window=3)
    check = SteadyCheck(probes=probes, readings=(_reading(probes[0].name, None, False),),
                        window=3)
    assert "no data, tolerance ≥ 99%" in check.explain()


def test_fault_context_says_what_was_in_effect_or_reverted_last() -> None:
    assert fault_context(["a", "b"], []) == "while a and b were in effect"
    assert fault_context([], [("a", 9.0), ("b", 1.25)]) == "(b reverted 1.2s before)"
    assert fault_context([], []) == "(no fault injected)"


def test_a_verdict_equals_its_word_and_explains_itself_in_a_failed_assert() -> None:
    verdict = VerdictText("deviated", ["during the fault: play starts 80%"], "r/report.html")
    assert verdict == "deviated" and verdict != "passed"
    lines = pytest_plugin.pytest_assertrepr_compare(
        None, "==", verdict, "passed")  # type: ignore[arg-type]
    assert lines == ["'deviated' == 'passed'", "verdict deviated",
                     "  - during the fault: play starts 80%", "report: r/report.html"]
    assert pytest_plugin.pytest_assertrepr_compare(
        None, "==", "a", "b") is None  # type: ignore[arg-type]


def test_settings_overrides_are_validated_like_the_file() -> None:
    experiment = load_experiment(ROOT / "experiments" / "netflix_instance.yaml")
    shorter = with_overrides(experiment, {"warmup": "2s", "recover_within": 15})
    assert (shorter.settings.warmup, shorter.settings.recover_within) == (2.0, 15.0)
    assert shorter.settings.seed == experiment.settings.seed
    with pytest.raises(ConfigError, match=r"settings\.warmup"):
        with_overrides(experiment, {"warmup": "soon"})
    with pytest.raises(ConfigError, match=r"settings\.colour"):
        with_overrides(experiment, {"colour": "red"})


def test_the_loop_thread_returns_raises_times_out_and_stops() -> None:
    loop = LoopThread("test")

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def fail() -> None:
        raise ValueError("inside the loop")

    try:
        assert loop.call(answer(), timeout=5) == 42
        with pytest.raises(ValueError, match="inside the loop"):
            loop.call(fail(), timeout=5)
        with pytest.raises(ChaoskitError, match=r"sleeping did not finish within 0\.05s"):
            loop.call(asyncio.sleep(5), timeout=0.05, what="sleeping")
    finally:
        loop.stop()
        loop.stop()
    assert not loop.running
    with pytest.raises(ChaoskitError, match="event loop has stopped"):
        loop.call(answer(), timeout=1)


def test_fault_names_are_checked_against_the_topology_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    topology = read_topology_file(resolve("targets/netflix_small.yaml", ROOT / "x"))
    system = ChaosSystem(topology, name="unit", reports_dir=tmp_path / "reports")
    try:
        with pytest.raises(ConfigError, match="unknown zone 'us-west-9z'; expected one of"):
            system.zone_outage("us-west-9z")
        with pytest.raises(ConfigError, match="zone"):
            system.inject({"fault": "zone_outage"})
        with pytest.raises(ConfigError, match="unknown service 'billing'"):
            system.instance_kill(service="billing")
        block = system.pause(service="playback", zone="us-east-1a")
        assert block.label == "pause all of service=playback,zone=us-east-1a"
        assert not block.active and block.targets == ()
    finally:
        system.close()
    assert not list((tmp_path / "state").glob("*.json"))
    assert system.report is not None and system.report.is_file()


def test_network_faults_need_a_system_started_with_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    topology = read_topology_file(resolve("targets/netflix_small.yaml", ROOT / "x"))
    plain = ChaosSystem(topology, name="plain", reports_dir=tmp_path / "reports")
    linked = ChaosSystem(topology, name="linked", reports_dir=tmp_path / "reports", links=True)
    try:
        hint = r"acts on links, .* chaos_system\(topology, links=True\)"
        with pytest.raises(ConfigError, match="latency " + hint):
            plain.latency(2000, service="playback", zone="us-east-1a")
        with pytest.raises(ConfigError, match="zone_outage " + hint):
            plain.zone_outage("us-east-1a", mode="isolate")
        block = linked.latency(2000, service="playback", zone="us-east-1a")
        assert block.spec.latency == 2000  # type: ignore[attr-defined]
    finally:
        plain.close()
        linked.close()


pytest_plugins = ["pytester"]


def test_a_system_is_stopped_when_the_fixture_returning_it_is_torn_down(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Systems that are never started: this checks the plugin's bookkeeping, not processes.
    pytester.makeconftest(f'''
        import pytest
        from chaoskit.loader.documents import read_topology_file
        from chaoskit.loader.paths import resolve
        from chaoskit.testing import ChaosSystem

        made = []

        def new_system(name):
            topology = read_topology_file(resolve("targets/netflix_small.yaml",
                                                  __import__("pathlib").Path({str(ROOT)!r}) / "x"))
            system = ChaosSystem(topology, name=name, reports_dir=pytest_reports)
            made.append(system)
            return system

        pytest_reports = __import__("pathlib").Path({str(tmp_path / "reports")!r})
    ''')
    pytester.makepyfile(
        test_a='''
            import pytest
            from conftest import made, new_system

            @pytest.fixture(scope="module")
            def system():
                return new_system("a")

            def test_uses_it(system):
                assert not system.closed
        ''',
        test_b='''
            from conftest import made

            def test_the_first_modules_system_is_already_stopped():
                assert [s.closed for s in made] == [True]
        ''')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path / "state"))
    result = pytester.runpytest("-p", "no:randomly", "test_a.py", "test_b.py")
    result.assert_outcomes(passed=2)


def test_the_marker_and_options_are_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.chaos: a resilience test*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--chaos-platform={local,docker}*", "*--chaos-reports=DIR*"])


def test_the_marker_names_the_experiment_and_a_failed_verdict_explains_itself(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chaoskit.model.verdict import Judgement, Verdict
    from chaoskit.testing import ExperimentOutcome

    asked: list[tuple[str, dict[str, object]]] = []

    def fake_run_file(path: str, **overrides: object) -> ExperimentOutcome:
        asked.append((path, overrides))
        return ExperimentOutcome(
            judgement=Judgement(verdict=Verdict.DEVIATED,
                                reasons=("during the fault: play starts succeed 0.8",)),
            run_dir=tmp_path / "run", time_to_recover=None)

    monkeypatch.setattr(pytest_plugin, "run_file", fake_run_file)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile('''
        import pytest

        @pytest.mark.chaos("experiments/netflix_az.yaml", warmup="2s")
        def test_gorilla(chaos_experiment):
            assert chaos_experiment.verdict == "passed"

        def test_unmarked(chaos_experiment):
            pass
    ''')
    result = pytester.runpytest("-p", "no:randomly", "--chaos-reports", str(tmp_path))
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*'deviated' == 'passed'*", "*verdict deviated*",
        "*- during the fault: play starts succeed 0.8*", f"*report: {tmp_path}/run/report.html*",
    ])
    result.stdout.fnmatch_lines(["*test_unmarked: chaos_experiment needs @pytest.mark.chaos(*"])
    [(path, overrides)] = asked
    assert path == "experiments/netflix_az.yaml"
    assert overrides == {"warmup": "2s", "platform": "local", "reports_dir": tmp_path}
