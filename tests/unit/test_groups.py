"""Control and experiment groups (issue 13): the model, its load-time errors, the schema,
Python experiments and GameDays that name compared experiments."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from chaoskit.cli import main
from chaoskit.errors import ConfigError
from chaoskit.gameday.loader import load_gameday, plan
from chaoskit.loader import experiment_json_schema, load_experiment
from chaoskit.model import Compare, Experiment, Groups, LoadProbe, SteadyStateProbe, Tolerance
from chaoskit.model.history import ProbeReading

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(FIXTURES / "topology.yaml", tmp_path / "topology.yaml")
    (tmp_path / "load").mkdir()
    shutil.copy(FIXTURES / "load" / "streaming.py", tmp_path / "load" / "streaming.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


HEAD = """\
title: compared
topology: topology.yaml
load: {locustfile: load/streaming.py, users: 10}
"""


def write(work: Path, body: str, name: str = "exp.yaml") -> Path:
    path = work / name
    path.write_text(HEAD + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    return info.value


# --- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "expected"), [("5%", 0.05), (0.05, 0.05), (" 50 %", 0.5)])
def test_share_reads_percentages_and_fractions(share: object, expected: float) -> None:
    assert Groups.model_validate({"control": True, "share": share}).share == expected


def test_deployments_and_the_main_group() -> None:
    assert Groups().deployments == 1
    assert Groups(control=True).deployments == 2
    assert Groups(control=True, share=0.05).deployments == 1
    probe = SteadyStateProbe(name="p", probe=LoadProbe(probe="load.rps"),
                             tolerance=Tolerance(min=1))
    base = Experiment(title="t", steady_state=(probe,))
    assert base.main_group == ""
    topology = load_experiment(FIXTURES / "experiment.yaml").topology
    two = base.model_copy(update={"topology": topology, "groups": Groups(control=True)})
    assert two.main_group == "experiment"
    fit = base.model_copy(update={"groups": Groups(control=True, share=0.05)})
    assert fit.main_group == ""


@pytest.mark.parametrize(("compare", "value", "control", "exceeded"), [
    (Compare(max_drop=0.01), 0.985, 0.999, True),
    (Compare(max_drop=0.01), 0.990, 0.999, False),
    (Compare(max_rise=0.02), 0.05, 0.02, True),
    (Compare(max_rise=0.02), 0.03, 0.02, False),
    (Compare(max_ratio=1.5), 160.0, 100.0, True),
    (Compare(max_ratio=1.5), 150.0, 100.0, False),
])
def test_the_margin_is_judged_in_the_probe_unit(compare: Compare, value: float, control: float,
                                                exceeded: bool) -> None:
    assert compare.exceeded(value, control) is exceeded


def test_a_compared_reading_fails_only_beyond_the_margin_and_significant() -> None:
    compare = Compare(max_drop=0.01, alpha=0.05)

    def reading(value: float | None, control: float | None, p: float | None,
                tolerance: Tolerance | None = None) -> ProbeReading:
        return ProbeReading(phase="observe", role="steady_state", name="r", value=value,
                            ok=True, tolerance=tolerance, compare=compare, control=control,
                            p_value=p)

    assert not reading(0.90, 0.999, 0.001).holds          # a real drop
    assert reading(0.90, 0.999, 0.20).holds               # could be noise
    assert reading(0.995, 0.999, 0.001).holds             # significant, but inside the margin
    assert not reading(None, 0.999, None).holds           # no experiment data
    assert not reading(0.999, None, None).holds           # no control data
    # Both judgements: the tolerance fails even where the comparison holds.
    assert not reading(0.995, 0.999, 0.5, Tolerance(min=0.999)).holds
    assert reading(0.90, 0.999, 0.001).expected == "at most 0.01 below control"
    assert reading(1, 1, 1, Tolerance(min=0.9)).expected == ">= 0.9 and at most 0.01 below control"


def test_min_seconds_follows_the_smallest_reachable_p() -> None:
    assert Compare(max_drop=0.01).min_seconds == 4          # 3 s: 1/C(6,3) = 0.05
    assert Compare(max_drop=0.01, alpha=0.01).min_seconds == 5
    assert Compare(max_drop=0.01, alpha=0.2).min_seconds == 2


# --- load-time errors ---------------------------------------------------------------------


@pytest.mark.parametrize(("body", "line", "field", "words"), [
    ("""
     steady_state:
       - {name: a, probe: load.success_ratio, compare: {max_drop: 0.01}}
     """, 5, "steady_state[0].compare", "declare groups: {control: true}"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.success_ratio}
     """, 6, "steady_state[0].tolerance", "or compare:"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.success_ratio, compare: {max_drop: 0.01, max_ratio: 2}}
     """, 6, "steady_state[0].compare", "exactly one of max_drop"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.success_ratio, compare: {}}
     """, 6, "steady_state[0].compare", "exactly one of max_drop"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.p99_ms, compare: {max_ratio: 0.5}}
     """, 6, "steady_state[0].compare.max_ratio", "greater than or equal to 1"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.p99_ms, compare: {max_ratio: 2, alpha: 1.5}}
     """, 6, "steady_state[0].compare.alpha", "less than 1"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: http, url: "http://127.0.0.1:1/", compare: {max_drop: 0.1}}
     """, 6, "steady_state[0].compare", "only load.* probes"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.success_ratio, breach: {below: 0.9}, compare: {max_drop: 0.1}}
     """, 6, "steady_state[0].compare", "breach"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: a, probe: load.success_ratio, window: 3s, compare: {max_drop: 0.1}}
     """, 6, "steady_state[0].window", "at least 4s"),
    ("""
     groups: {control: true}
     steady_state:
       - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
     guardrails:
       - {probe: load.success_ratio, window: 5s, compare: {max_drop: 0.1, alpha: 0}}
     """, 8, "guardrails[0].compare.alpha", "greater than 0"),
    ("""
     groups: {control: true, share: 70%}
     steady_state:
       - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
     """, 4, "groups.share", "share 70%"),
    ("""
     groups: {share: 5%}
     steady_state:
       - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
     """, 4, "groups.control", "give control: true"),
    ("""
     groups: {control: true, share: lots}
     steady_state:
       - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
     """, 4, "groups.share", "number"),
    ("""
     groups: {control: true, header: "X Bad"}
     steady_state:
       - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
     """, 4, "groups.header", "pattern"),
])
def test_bad_groups_and_comparisons_are_located_errors(work: Path, body: str, line: int,
                                                       field: str, words: str) -> None:
    error = error_of(write(work, body))
    assert (error.line, error.field) == (line, field), error
    assert words in error.message, error.message


def test_two_deployments_need_a_topology_and_their_own_entry_points(work: Path) -> None:
    no_topology = work / "attach.yaml"
    no_topology.write_text(textwrap.dedent("""\
        title: attach
        load: {locustfile: load/streaming.py, host: "http://127.0.0.1:8000"}
        groups: {control: true}
        steady_state:
          - {name: a, probe: load.success_ratio, compare: {max_drop: 0.01}}
        """))
    error = error_of(no_topology)
    assert (error.line, error.field) == (3, "groups.control")
    assert "share: 5%" in error.message
    host = work / "host.yaml"
    host.write_text(textwrap.dedent("""\
        title: one host for both groups
        topology: topology.yaml
        load: {locustfile: load/streaming.py, host: "http://127.0.0.1:8000"}
        groups: {control: true}
        steady_state:
          - {name: a, probe: load.success_ratio, compare: {max_drop: 0.01}}
        """))
    error = error_of(host)
    assert (error.line, error.field) == (3, "load.host")
    assert "its own deployment" in error.message


def test_the_cli_exits_2_with_the_located_error(work: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = write(work, """
        steady_state:
          - {name: a, probe: load.success_ratio, compare: {max_drop: 0.01}}
        """)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: steady_state[0].compare: compare judges" in err
    assert "Traceback" not in err


def test_a_valid_compared_experiment_loads(work: Path) -> None:
    loaded = load_experiment(write(work, """
        groups: {control: true}
        steady_state:
          - {name: plays, probe: load.success_ratio, window: 10s, compare: {max_drop: 0.01}}
          - name: p99
            probe: load.p99_ms
            tolerance: {max: 500}
            compare: {max_ratio: 1.5, alpha: 0.01}
        guardrails:
          - {probe: load.success_ratio, window: 5s, compare: {max_drop: 0.2}}
        """))
    plays, p99 = loaded.steady_state
    assert plays.tolerance is None and plays.compare == Compare(max_drop=0.01)
    assert p99.tolerance == Tolerance(max=500) and p99.compare == Compare(max_ratio=1.5, alpha=0.01)
    assert loaded.guardrails[0].compare == Compare(max_drop=0.2)
    assert loaded.main_group == "experiment"


def test_the_schema_takes_groups_and_compare_and_still_needs_one_judgement() -> None:
    schema = experiment_json_schema()
    groups = schema["$defs"]["Groups"]["properties"]
    assert {"control", "share", "header"} <= set(groups)
    share_kinds = {s.get("type") for s in groups["share"]["anyOf"]}
    assert share_kinds == {"number", "string", "null"}
    steady = schema["$defs"]["SteadyStateProbe"]
    load = next(v for v in steady["oneOf"] if v["title"] == "LoadProbe")
    assert "compare" in load["properties"]
    assert load["anyOf"] == [{"required": ["tolerance"]}, {"required": ["compare"]}]
    http = next(v for v in steady["oneOf"] if v["title"] == "HttpProbe")
    assert "compare" not in http["properties"] and "tolerance" in http["required"]


# --- Python experiments and GameDays ------------------------------------------------------


PYTHON = """\
from chaoskit import Compare, Experiment, Groups, LoadProbe, LoadSpec, SteadyStateProbe
from chaoskit import load_topology

experiment = Experiment(
    title="compared, in Python",
    topology=load_topology("topology.yaml"),
    load=LoadSpec(locustfile="load/streaming.py"),
    steady_state=(SteadyStateProbe(name="plays", probe=LoadProbe(probe="load.success_ratio"),
                                   compare=Compare(max_drop=0.01)),),
    GROUPS
)
"""


def test_python_experiments_declare_groups_and_comparisons(work: Path) -> None:
    good = work / "good.py"
    good.write_text(PYTHON.replace("GROUPS", "groups=Groups(control=True),"))
    loaded = load_experiment(good)
    assert loaded.groups.deployments == 2
    assert loaded.steady_state[0].compare == Compare(max_drop=0.01)
    bad = work / "bad.py"
    bad.write_text(PYTHON.replace("GROUPS", ""))
    error = error_of(bad)
    assert "compare judges the experiment group against the control group" in error.message
    assert error.file is not None and error.file.endswith("bad.py")


def test_a_gameday_plans_compared_experiments(work: Path) -> None:
    write(work, """
        groups: {control: true}
        steady_state:
          - {name: plays, probe: load.success_ratio, compare: {max_drop: 0.01}}
        """)
    (work / "good.py").write_text(PYTHON.replace("GROUPS", "groups=Groups(control=True),"))
    day = work / "day.yaml"
    day.write_text("title: compared day\nsteps:\n  - {experiment: exp.yaml}\n"
                   "  - {experiment: good.py, settings: {warmup: 1s}}\n")
    steps = plan(load_gameday(day))
    assert [s.experiment.groups.control for s in steps if s.experiment] == [True, True]


# --- the test layer -----------------------------------------------------------------------


def test_compared_probes_take_the_margin_in_each_statistic_s_direction() -> None:
    from chaoskit.testing.steady import compared_probes

    probes = compared_probes({"success_ratio": 0.01, "failure_ratio": 0.02, "p99_ms": 1.5,
                              "rps": None}, window=8, alpha=0.01)
    assert [(p.probe.probe, p.compare) for p in probes] == [
        ("load.success_ratio", Compare(max_drop=0.01, alpha=0.01)),
        ("load.failure_ratio", Compare(max_rise=0.02, alpha=0.01)),
        ("load.p99_ms", Compare(max_ratio=1.5, alpha=0.01)),
    ]
    assert probes[2].name == "p99_ms at most 1.5x control"
    assert all(p.tolerance is None and p.probe.window == 8 for p in probes)
    with pytest.raises(TypeError, match="at least one margin"):
        compared_probes({"rps": None}, window=5)
    with pytest.raises(TypeError, match="unknown compared statistic p42_ms"):
        compared_probes({"p42_ms": 2}, window=5)


def test_a_system_without_a_control_group_cannot_compare(tmp_path: Path) -> None:
    from chaoskit.errors import ChaoskitError
    from chaoskit.loader import load_topology
    from chaoskit.testing import ChaosSystem

    topology = load_topology(FIXTURES / "topology.yaml")
    with pytest.raises(ConfigError, match=r"share"):
        ChaosSystem(topology, name="bad", reports_dir=tmp_path, groups={"control": True,
                                                                         "share": "lots"})
    system = ChaosSystem(topology, name="plain", reports_dir=tmp_path)
    try:
        with pytest.raises(ChaoskitError, match="no control group to compare with"):
            system.assert_compared(success_ratio=0.01)
        compared = SteadyStateProbe(name="c", probe=LoadProbe(probe="load.rps"),
                                    compare=Compare(max_drop=1))
        with pytest.raises(ChaoskitError, match="compare needs a control group"):
            system.steady_state(compared)
    finally:
        system._loop.stop()
    grouped = ChaosSystem(topology, name="grouped", reports_dir=tmp_path,
                          groups={"control": True})
    try:
        assert grouped._session.control_env is not None
        assert grouped._session.control_env.run_dir == grouped.run_dir / "control"
    finally:
        grouped._loop.stop()


def test_the_control_deployment_draws_its_ports_apart(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from chaoskit.runner import RunOptions
    from chaoskit.runner import environment as environment_module
    from chaoskit.runner.environment import Environment

    loaded = load_experiment(FIXTURES / "experiment.yaml")
    assert loaded.topology is not None
    options = RunOptions(reports_dir=tmp_path, quiet=True)
    first = Environment(loaded, options, tmp_path / "run")
    control = Environment(loaded, options, tmp_path / "run" / "control", group="control",
                          state=first.state, reserved=first.reserved)
    ports = first._draw_apart(loaded.topology)
    taken = {p for named in ports.values() for p in named.values()}
    assert first.reserved == taken
    draws = iter([(ports, []), (ports, [])])
    real = environment_module.draw_ports
    # The first two draws repeat the experiment's ports: the control draws again.
    monkeypatch.setattr(environment_module, "draw_ports",
                        lambda topology: next(draws, None) or real(topology))
    apart = control._draw_apart(loaded.topology)
    assert not taken & {p for named in apart.values() for p in named.values()}
    assert control.state is first.state and not control.owns_state and control.view is None


def test_a_dry_run_says_the_topology_runs_twice(work: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from chaoskit.runner import RunOptions
    from chaoskit.runner.dry_run import dry_run

    loaded = load_experiment(write(work, """
        groups: {control: true}
        steady_state:
          - {name: plays, probe: load.success_ratio, compare: {max_drop: 0.01}}
        """))
    dry_run(loaded, RunOptions(reports_dir=work, quiet=True))
    assert "deployed twice, control and experiment" in capsys.readouterr().out
