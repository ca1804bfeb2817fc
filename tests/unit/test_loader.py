"""The loader: YAML and Python experiments → the model, every error as file:line: field."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest

from chaoskit.cli import main
from chaoskit.errors import ConfigError
from chaoskit.loader import experiment_json_schema, load_experiment, load_topology
from chaoskit.loader.diagnostics import MAX_SHOWN, ConfigErrors
from chaoskit.loader.safe_yaml import MAX_DEPTH, read_yaml
from chaoskit.model import Experiment, LoadProbe, Topology
from chaoskit.model.faults import FaultSpec

FIXTURES = Path(__file__).parent / "fixtures"
REPOSITORY = Path(__file__).parents[2]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, holding the topology and the locustfile."""
    shutil.copy(FIXTURES / "topology.yaml", tmp_path / "topology.yaml")
    (tmp_path / "load").mkdir()
    shutil.copy(FIXTURES / "load" / "streaming.py", tmp_path / "load" / "streaming.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path | str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    return info.value


def experiment(work: Path, body: str, name: str = "exp.yaml", *, steady: bool = False) -> Path:
    """Title and topology on lines 1-2, then ``body``; with ``steady``, a valid steady state
    on lines 3-4 and ``body`` from line 5."""
    head = "title: t\ntopology: topology.yaml\n" + (STEADY if steady else "")
    return write(work / name, head + textwrap.dedent(body).lstrip("\n"))


STEADY = "steady_state:\n  - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}\n"


# --- valid files -------------------------------------------------------------------------


def test_the_yaml_example_loads_with_paths_resolved(work: Path) -> None:
    shutil.copy(FIXTURES / "experiment.yaml", work / "experiment.yaml")
    loaded = load_experiment("experiment.yaml")
    assert loaded.title.startswith("Streaming survives")
    assert loaded.source == "experiment.yaml"
    assert loaded.base_dir == str(work)
    assert loaded.load is not None
    assert loaded.load.locustfile == str(work / "load" / "streaming.py")
    assert loaded.topology.name == "mini-streaming"
    assert loaded.topology.workdir == str(work)
    assert [s.probe.probe for s in loaded.steady_state] == ["load.success_ratio", "load.p99_ms"]
    probe = loaded.steady_state[0].probe
    assert isinstance(probe, LoadProbe)
    assert probe.window == 10.0
    assert loaded.method[0].fault == "zone_outage"
    assert loaded.method[0].duration == 20.0
    assert loaded.guardrails[0].tolerance.min == 0.80
    assert loaded.settings.seed == 7


def test_yaml_and_python_experiments_load_equal_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing here: both resolve against the fixtures directory
    from_yaml = load_experiment(FIXTURES / "experiment.yaml")
    from_python = load_experiment(FIXTURES / "experiment.py")
    assert from_yaml.model_dump() == from_python.model_dump()
    assert from_yaml.base_dir == from_python.base_dir == str(FIXTURES)
    assert from_python.source == str(FIXTURES / "experiment.py")


def test_inline_topology_resolves_workdir_against_the_experiment_file(work: Path) -> None:
    topology = (FIXTURES / "topology.yaml").read_text()
    nested = textwrap.indent(topology, "  ")
    path = write(work / "sub" / "inline.yaml",
                 f"title: t\ntopology:\n{nested}  workdir: ..\n{STEADY}")
    loaded = load_experiment(path)
    assert loaded.topology.name == "mini-streaming"
    assert loaded.base_dir == str(work / "sub")
    assert loaded.topology.workdir == str(work)


def test_relative_paths_resolve_cwd_first_then_the_file_directory_upward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(project / "targets" / "topo.yaml", (FIXTURES / "topology.yaml").read_text())
    path = write(project / "experiments" / "deep" / "x.yaml",
                 f"title: t\ntopology: targets/topo.yaml\n{STEADY}")
    monkeypatch.chdir(tmp_path)  # not found in cwd nor beside the file: found two levels up
    assert load_experiment(path).base_dir == str(project)
    # A file of the same name in the working directory wins over the file's parents.
    write(tmp_path / "targets" / "topo.yaml",
          (FIXTURES / "topology.yaml").read_text().replace("mini-streaming", "from-cwd"))
    loaded = load_experiment(path)
    assert loaded.topology.name == "from-cwd"
    assert loaded.base_dir == str(tmp_path)


def test_a_topology_files_workdir_is_relative_to_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(project / "targets" / "topo.yaml",
          (FIXTURES / "topology.yaml").read_text() + "workdir: ..\n")
    path = write(project / "experiments" / "x.yaml",
                 f"title: t\ntopology: targets/topo.yaml\n{STEADY}")
    monkeypatch.chdir(project / "experiments")
    loaded = load_experiment("x.yaml")
    assert loaded.topology.workdir == str(project)
    assert loaded.base_dir == str(project)
    assert loaded.source == "x.yaml"
    assert path.exists()


def test_every_committed_experiment_validates_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # found through the experiments' parent directory
    files = committed_experiments()
    assert len(files) >= 3
    for file in files:
        loaded = load_experiment(file)
        assert loaded.base_dir == str(REPOSITORY), file
        assert Path(loaded.topology.workdir).is_dir()


def committed_experiments(suffixes: tuple[str, ...] = (".yaml", ".yml", ".py")) -> list[Path]:
    # GameDay scripts live beside the experiments; only experiments are picked.
    marker = {".py": r"^experiment = "}
    return [f for f in sorted((REPOSITORY / "experiments").iterdir())
            if f.suffix in suffixes
            and re.search(marker.get(f.suffix, r"^steady_state:"), f.read_text(), re.M)]


# --- YAML syntax and safety -------------------------------------------------------------


def test_bad_yaml_syntax_names_the_line(work: Path) -> None:
    path = experiment(work, """
        steady_state:
          - {name: ok, probe: load.p99_ms
        method: []
        """)
    error = error_of(path)
    assert error.file == str(path)
    assert error.line == 5
    assert "invalid YAML" in error.message


def test_braces_inside_a_flow_mapping_get_a_quoting_hint(work: Path) -> None:
    error = error_of(experiment(work, """
        steady_state:
          - {name: a, probe: load.rps, tolerance: {min: ${MIN}}}
        """))
    assert error.line == 4
    assert error.message.startswith("invalid YAML at column ")
    assert error.message.endswith("quote values holding { } [ ] , or :")


def test_duplicate_key_names_the_key_and_both_lines(work: Path) -> None:
    path = experiment(work, steady=True, body="""
        settings:
          seed: 1
          warmup: 2s
          seed: 2
        """)
    error = error_of(path)
    assert (error.line, error.field) == (8, "settings.seed")
    assert error.message == "duplicate key 'seed' (first given on line 6)"


def test_duplicate_top_level_key(work: Path) -> None:
    path = experiment(work, f"{STEADY}title: again\n")
    assert error_of(path).render() == (
        f"{path}:5: title: duplicate key 'title' (first given on line 1)"
    )


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!include", "!!str"])
def test_any_explicit_tag_is_refused_with_its_line(work: Path, tag: str) -> None:
    marker = work / "executed"
    path = experiment(work, steady=True, body=f"""
        description: {tag} ["touch {marker}"]
        """)
    error = error_of(path)
    assert error.line == 5
    assert "tags such as" in error.message
    assert tag in error.message
    assert not marker.exists()


def test_depth_bomb_is_refused(work: Path) -> None:
    path = experiment(work, "description: " + "[" * 1000 + "]" * 1000 + "\n" + STEADY)
    error = error_of(path)
    assert error.line == 3
    assert f"nested deeper than {MAX_DEPTH} levels" in error.message


def test_nesting_just_inside_the_bound_parses(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 1  # the root mapping is one level
    document = read_yaml(write(tmp_path / "d.yaml", "a: " + "[" * depth + "]" * depth + "\n"),
                         "d.yaml")
    assert isinstance(document.value, dict)


def test_alias_bomb_is_refused_at_the_first_alias(work: Path) -> None:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    laughs += [f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ",".join(
        [f"*{chr(ord('a') + i - 1)}"] * 9) + "]" for i in range(1, 9)]
    path = experiment(work, "description:\n" + textwrap.indent("\n".join(laughs), "  ") + "\n")
    error = error_of(path)
    assert error.line == 5
    assert "aliases (*a) are not allowed" in error.message


def test_oversized_file_is_refused_before_parsing(work: Path) -> None:
    path = experiment(work, STEADY + "# " + "x" * (1 << 20) + "\n")
    error = error_of(path)
    assert error.line is None
    assert "at most 1048576" in error.message


@pytest.mark.parametrize(("text", "got"), [("", "an empty file"), ("- a\n- b\n", "list")])
def test_a_file_that_is_not_a_mapping(work: Path, text: str, got: str) -> None:
    error = error_of(write(work / "e.yaml", text))
    assert error.line == 1
    assert f"expected a mapping with title, topology, steady_state and method, got {got}" \
        == error.message


def test_non_utf8_file(work: Path) -> None:
    path = work / "exp.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    assert error_of(path).message.startswith("not UTF-8 text")


def test_two_documents_in_one_file(work: Path) -> None:
    error = error_of(experiment(work, "---\ntitle: other\n", steady=True))
    assert error.line == 5
    assert "expected a single document" in error.message


# --- structure ---------------------------------------------------------------------------


def test_unknown_field_lists_the_expected_ones(work: Path) -> None:
    path = experiment(work, f"{STEADY}setings: {{seed: 1}}\n")
    error = error_of(path)
    assert (error.line, error.field) == (5, "setings")
    assert error.message == (
        "unknown field 'setings'; expected one of description, groups, guardrails, load, method, "
        "observability, proxies, settings, steady_state, title, topology"
    )


def test_unknown_field_in_a_flat_steady_state_entry(work: Path) -> None:
    path = experiment(work, """
        steady_state:
          - name: p99
            probe: load.p99_ms
            windo: 10s
            tolerance: {max: 500}
        """)
    error = error_of(path)
    assert (error.line, error.field) == (6, "steady_state[0].windo")
    assert error.message == ("unknown field 'windo'; expected one of breach, compare, name, "
                             "probe, request, tolerance, window")


def test_loader_only_fields_are_not_part_of_the_format(work: Path) -> None:
    error = error_of(experiment(work, f"{STEADY}base_dir: /etc\n"))
    assert (error.line, error.field) == (5, "base_dir")
    assert error.message.startswith("unknown field 'base_dir'")


def test_wrong_type(work: Path) -> None:
    path = experiment(work, "load: {locustfile: load/streaming.py, users: many}\n" + STEADY)
    error = error_of(path)
    assert (error.line, error.field) == (3, "load.users")
    assert error.message.startswith("expected a valid integer")
    assert "'many'" in error.message


def test_a_list_where_a_mapping_is_expected_and_the_reverse(work: Path) -> None:
    error = error_of(experiment(work, "method: zone_outage\n", steady=True))
    assert (error.line, error.field, error.message) == (5, "method",
                                                        "expected a list, got 'zone_outage'")
    error = error_of(experiment(work, "method: [zone_outage]\n", steady=True))
    assert (error.field, error.message) == ("method[0]",
                                            "expected a mapping of fields, got 'zone_outage'")


def test_topology_neither_path_nor_mapping(work: Path) -> None:
    error = error_of(write(work / "exp.yaml", f"title: t\ntopology: 42\n{STEADY}"))
    assert (error.line, error.field) == (2, "topology")
    assert error.message == "expected the path of a topology file or the topology itself, got 42"


def test_missing_required_field_points_at_its_parent(work: Path) -> None:
    error = error_of(experiment(work, "method: []\n"))
    assert (error.line, error.field) == (1, "steady_state")
    assert error.message == "required field is missing"


def test_bad_duration(work: Path) -> None:
    path = experiment(work, """
        steady_state:
          - {name: p99, probe: load.p99_ms, window: 10 parsecs, tolerance: {max: 500}}
        """)
    error = error_of(path)
    assert (error.line, error.field) == (4, "steady_state[0].window")
    assert error.message == "expected a duration such as 10s, 500ms or 2m, got '10 parsecs'"


def test_tolerance_min_greater_than_max(work: Path) -> None:
    path = experiment(work, """
        steady_state:
          - name: ratio
            probe: load.success_ratio
            tolerance: {min: 0.99, max: 0.5}
        """)
    error = error_of(path)
    assert (error.line, error.field) == (6, "steady_state[0].tolerance")
    assert error.message == "min (0.99) is greater than max (0.5)"


def test_empty_tolerance(work: Path) -> None:
    path = experiment(work, "steady_state:\n  - {name: a, probe: load.rps, tolerance: {}}\n")
    error = error_of(path)
    assert error.render() == (f"{path}:4: steady_state[0].tolerance: "
                              "expected at least one of min, max or equals")


def test_unknown_fault_kind_lists_the_kinds_from_the_union(work: Path) -> None:
    path = experiment(work, steady=True, body="""
        method:
          - {fault: zone_outag, zone: us-east-1a}
        """)
    error = error_of(path)
    kinds = sorted(
        tag for member in get_args(get_args(FaultSpec)[0])
        for tag in get_args(member.model_fields["fault"].annotation)
    )
    assert {"instance_kill", "pause", "region_outage", "zone_outage"} <= set(kinds)
    assert (error.line, error.field) == (6, "method[0].fault")
    assert error.message == f"unknown fault 'zone_outag'; expected one of {', '.join(kinds)}"


def test_missing_fault_kind(work: Path) -> None:
    error = error_of(experiment(work, f"{STEADY}method:\n  - {{zone: us-east-1a}}\n"))
    assert (error.line, error.field) == (6, "method[0]")
    assert error.message.startswith("missing 'fault'; expected one of ")


def test_unknown_probe_kind_in_flat_form(work: Path) -> None:
    error = error_of(experiment(work, """
        steady_state:
          - {name: a, probe: load.p99, tolerance: {max: 1}}
        """))
    assert (error.line, error.field) == (4, "steady_state[0].probe")
    assert error.message.startswith("unknown probe 'load.p99'; expected one of ")
    assert "load.p99_ms" in error.message
    assert "http" in error.message


def test_field_of_a_fault_found_through_its_tag(work: Path) -> None:
    error = error_of(experiment(work, steady=True, body="""
        method:
          - fault: zone_outage
            zone: us-east-1a
            mode: explode
        """))
    assert (error.line, error.field) == (8, "method[0].mode")
    assert error.message == "expected one of terminate, isolate; got 'explode'"


def test_several_errors_are_listed_each_with_its_line(work: Path) -> None:
    lines = "".join(f"  - {{name: s{i}, probe: load.rps, tolerance: {{}}}}\n"
                    for i in range(MAX_SHOWN + 2))
    error = error_of(experiment(work, "steady_state:\n" + lines))
    assert isinstance(error, ConfigErrors)
    assert [e.line for e in error.errors] == list(range(4, 4 + MAX_SHOWN))
    rendered = error.render().splitlines()
    assert rendered[0].endswith("steady_state[0].tolerance: expected at least one of min, "
                                "max or equals")
    assert rendered[1].startswith(f"{work / 'exp.yaml'}:5: steady_state[1].tolerance")
    assert rendered[-1] == "... and 2 more errors"


# --- references to the topology ----------------------------------------------------------


@pytest.mark.parametrize(("line", "field", "message"), [
    ("{fault: zone_outage, zone: us-east-1z}", "method[0].zone",
     "unknown zone 'us-east-1z'; expected one of us-east-1a, us-east-1b, us-east-1c, "
     "eu-west-1a, eu-west-1b"),
    ("{fault: region_outage, region: ap-south}", "method[0].region",
     "unknown region 'ap-south'; expected one of us-east, eu-west"),
    ("{fault: instance_kill, service: playbak}", "method[0].service",
     "unknown service 'playbak'; expected one of edge, gateway, playback"),
])
def test_unknown_names_in_faults(work: Path, line: str, field: str, message: str) -> None:
    error = error_of(experiment(work, f"{STEADY}method:\n  - {line}\n"))
    assert (error.line, error.field, error.message) == (6, field, message)


def test_unknown_instance_in_a_probe_selector(work: Path) -> None:
    error = error_of(experiment(work, """
        steady_state:
          - name: one playback up
            probe: instances
            selector: {instance: playback-us-east-1a-7}
            tolerance: {min: 1}
        """))
    assert (error.line, error.field) == (6, "steady_state[0].selector.instance")
    assert error.message.startswith("unknown instance 'playback-us-east-1a-7'; expected one "
                                    "of edge-global-0, playback-us-east-1a-0, ")


def test_known_names_pass_and_global_is_selectable(work: Path) -> None:
    loaded = load_experiment(experiment(work, """
        steady_state:
          - {name: edge up, probe: instances, selector: {zone: global}, tolerance: {min: 1}}
          - {name: ok, probe: http, url: "service://edge/health", tolerance: {equals: 1}}
        method:
          - {fault: instance_kill, service: playback, zone: us-east-1b, count: 1}
          - {fault: pause, region: eu-west}
        """))
    assert len(loaded.method) == 2


def test_unknown_service_in_a_service_url(work: Path) -> None:
    error = error_of(experiment(work, """
        steady_state:
          - {name: ok, probe: http, url: "service://edg/health", tolerance: {equals: 1}}
        """))
    assert (error.line, error.field) == (4, "steady_state[0].url")
    assert error.message.startswith("unknown service 'edg'")


# --- referenced files --------------------------------------------------------------------


def test_missing_topology_file(work: Path) -> None:
    path = write(work / "exp.yaml", f"title: t\n\ntopology: targets/nope.yaml\n{STEADY}")
    error = error_of(path)
    assert (error.file, error.line, error.field) == (str(path), 3, "topology")
    assert error.message.startswith("topology file 'targets/nope.yaml' not found; tried ")
    assert str(work / "targets" / "nope.yaml") in error.message


def test_missing_locustfile(work: Path) -> None:
    error = error_of(experiment(work, f"load:\n  locustfile: load/nope.py\n{STEADY}"))
    assert (error.line, error.field) == (4, "load.locustfile")
    assert error.message.startswith("locustfile 'load/nope.py' not found; tried ")


def test_an_error_in_the_topology_file_names_that_file_and_line(work: Path) -> None:
    write(work / "topology.yaml", """
        name: broken
        regions:
          - {name: us-east, zones: [us-east-1a]}
        services:
          - name: api
            command: [python]
            replicas: 0
        entrypoint: api
        """)
    error = error_of(experiment(work, STEADY))
    assert (error.file, error.line, error.field) == ("topology.yaml", 7, "services[0].replicas")
    assert error.message == "expected greater than or equal to 1, got 0"


def test_a_dependency_cycle_in_the_topology_file(work: Path) -> None:
    write(work / "topology.yaml", """
        name: loop
        regions: [{name: r, zones: [z]}]
        services:
          - {name: a, command: [x], depends_on: [b]}
          - {name: b, command: [x], depends_on: [a]}
        entrypoint: a
        """)
    error = error_of(experiment(work, STEADY))
    assert (error.file, error.line, error.field) == ("topology.yaml", 3, "services")
    assert "dependency cycle: a -> b -> a" in error.message


def test_a_topology_without_its_workdir(work: Path) -> None:
    text = (FIXTURES / "topology.yaml").read_text() + "workdir: services\n"
    write(work / "topology.yaml", text)
    error = error_of(experiment(work, STEADY))
    assert (error.file, error.field) == ("topology.yaml", "workdir")
    assert error.line == len(text.splitlines())


# --- Python experiments ------------------------------------------------------------------


def test_python_file_without_experiment(work: Path) -> None:
    path = write(work / "exp.py", "title = 'no experiment here'\n")
    error = error_of(path)
    assert error.file == str(path)
    assert "no module-level 'experiment'" in error.message


def test_python_file_with_the_wrong_type(work: Path) -> None:
    error = error_of(write(work / "exp.py", "import os\n\nexperiment = {'title': 't'}\n"))
    assert error.line == 3
    assert error.message == "'experiment' is a dict, expected a chaoskit.Experiment"


def test_python_file_raising_names_its_line_without_a_traceback(work: Path) -> None:
    path = write(work / "exp.py", """
        import os


        def helper():
            return {}["missing"]


        experiment = helper()
        """)
    error = error_of(path)
    assert (error.file, error.line) == (str(path), 5)
    assert error.message == "KeyError: 'missing'"
    assert "Traceback" not in error.render()


def test_python_syntax_error(work: Path) -> None:
    error = error_of(write(work / "exp.py", "x = 1\nexperiment = (\n"))
    assert error.line == 2
    assert error.message.startswith("invalid Python: ")


def test_python_validation_error_names_the_line_and_field(work: Path) -> None:
    path = write(work / "exp.py", """
        from chaoskit import Tolerance

        tolerance = Tolerance(min=2, max=1)
        """)
    error = error_of(path)
    assert (error.line, error.field) == (3, "Tolerance")
    assert error.message == "min (2.0) is greater than max (1.0)"


def test_python_experiment_validation_error_names_the_field(work: Path) -> None:
    source = (FIXTURES / "experiment.py").read_text()
    path = write(work / "exp.py", source.replace("users=20", "users=0"))
    error = error_of(path)
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "users=20" in text)
    assert (error.field, error.line) == ("LoadSpec.users", line)
    assert error.message == "expected greater than or equal to 1, got 0"


def test_python_reference_error_points_at_the_quoted_value(work: Path) -> None:
    source = (FIXTURES / "experiment.py").read_text()
    path = write(work / "exp.py", source.replace('zone="us-east-1a"', 'zone="us-east-1z"'))
    error = error_of(path)
    assert error.field == "method[0].zone"
    expected = next(n for n, line in enumerate(source.splitlines(), 1) if "ZoneOutage(" in line
                    and "zone=" in line)
    assert error.line == expected
    assert error.message.startswith("unknown zone 'us-east-1z'")


def test_python_inline_topology_with_a_cycle(work: Path) -> None:
    path = write(work / "exp.py", """
        from chaoskit import Experiment, Topology

        experiment = Experiment.model_validate({
            "title": "t",
            "topology": Topology.model_validate({
                "name": "loop", "regions": [{"name": "r", "zones": ["z"]}],
                "services": [{"name": "a", "command": ["x"], "depends_on": ["b"]},
                             {"name": "b", "command": ["x"], "depends_on": ["a"]}],
                "entrypoint": "a"}),
            "steady_state": [{"name": "n", "probe": "load.rps", "tolerance": {"min": 1}}],
        })
        """)
    error = error_of(path)
    assert (error.file, error.field) == (str(path), "topology.services")
    assert error.message == "dependency cycle: a -> b -> a"


def test_python_experiment_imports_helpers_beside_it(work: Path) -> None:
    write(work / "helpers" / "shared.py", "TITLE = 'from a helper'\n")
    source = (FIXTURES / "experiment.py").read_text()
    path = write(work / "helpers" / "exp.py", "from shared import TITLE\n" + source.replace(
        'title="Streaming survives the loss of one availability zone (Chaos Gorilla)"',
        "title=TITLE").replace('"topology.yaml"', '"../topology.yaml"'))
    loaded = load_experiment(path)
    assert loaded.title == "from a helper"
    assert str(work / "helpers") not in sys.path


def test_load_topology_resolves_like_the_yaml_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    topology = load_topology(FIXTURES / "topology.yaml")
    assert isinstance(topology, Topology)
    assert topology.workdir == str(FIXTURES)
    with pytest.raises(ConfigError) as info:
        load_topology("nowhere/topology.yaml")
    assert info.value.file is not None
    assert info.value.file.endswith("test_loader.py")
    assert "topology file 'nowhere/topology.yaml' not found" in info.value.message


def test_other_extensions_are_refused(work: Path) -> None:
    error = error_of(write(work / "exp.json", "{}"))
    assert error.message == "expected a .yaml, .yml or .py file"


def test_a_missing_experiment_file(work: Path) -> None:
    assert error_of(work / "missing.yaml").message == "no such file"


# --- the CLI -----------------------------------------------------------------------------


def test_cli_validate_ok_and_errors(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = experiment(work, STEADY, name="good.yaml")
    bad = experiment(work, "steady_state: []\n", name="bad.yaml")
    assert main(["validate", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{good}: ok (t)\n"
    assert main(["validate", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{good}: ok (t)\n"
    assert err.startswith(f"chaoskit: {bad}:3: steady_state: ")
    assert "Traceback" not in err


def test_cli_validate_python_import_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(work / "exp.py", "import no_such_module_for_chaoskit\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"chaoskit: {path}:1: ModuleNotFoundError: No module named "
                           "'no_such_module_for_chaoskit'")


# --- the JSON Schema ---------------------------------------------------------------------


def test_schema_is_json_with_dialect_title_and_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    assert schema["description"]
    assert "source" not in schema["properties"]
    assert "base_dir" not in schema["properties"]
    assert _keywords(schema) <= SUPPORTED | ANNOTATIONS
    # Field docs come from the models' attribute docstrings.
    assert "goodput" in schema["$defs"]["LoadSpec"]["properties"]["slo"]["description"]
    assert schema["properties"]["steady_state"]["description"]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return experiment_json_schema()


def test_schema_accepts_the_flat_yaml_example_and_every_committed_experiment(
    schema: dict[str, Any],
) -> None:
    example = read_yaml(FIXTURES / "experiment.yaml", "experiment.yaml").value
    assert _errors(schema, example) == []
    assert isinstance(example, dict)
    assert isinstance(example["steady_state"][0]["probe"], str)  # flat, as users write it
    for path in committed_experiments((".yaml", ".yml")):
        assert _errors(schema, read_yaml(path, path.name).value) == [], path


def test_schema_accepts_an_inline_topology_with_depends_on_shorthand(
    schema: dict[str, Any],
) -> None:
    topology = read_yaml(FIXTURES / "topology.yaml", "topology.yaml").value
    example: Any = read_yaml(FIXTURES / "experiment.yaml", "experiment.yaml").value
    assert _errors(schema, {**example, "topology": topology}) == []


@pytest.mark.parametrize(("change", "where"), [
    ({"steady_state": [{"name": "a", "probe": {"probe": "load.rps"}, "tolerance": {"min": 1}}]},
     "/steady_state/0"),
    ({"method": [{"fault": "zone_outag", "zone": "a"}]}, "/method/0"),
    ({"settings": {"warmup": "10 parsecs"}}, "/settings/warmup"),
    ({"guardrails": [{"probe": "load.rps", "tolerance": {"min": 1}, "extra": 1}]},
     "/guardrails/0"),
    ({"source": "x"}, ""),
])
def test_schema_rejects(schema: dict[str, Any], change: dict[str, Any], where: str) -> None:
    example: Any = read_yaml(FIXTURES / "experiment.yaml", "experiment.yaml").value
    errors = _errors(schema, {**example, **change})
    assert errors
    assert any(e.startswith(where) for e in errors), errors


def test_schema_and_loader_agree_on_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(load_experiment(FIXTURES / "experiment.yaml"), Experiment)


# A focused JSON Schema checker for the keywords the generated schema uses. The
# test above fails if the schema starts using a keyword not handled here.
SUPPORTED = {"type", "properties", "required", "additionalProperties", "items", "$ref",
             "anyOf", "oneOf", "enum", "const", "pattern", "minimum", "maximum",
             "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength",
             "maxLength", "minProperties", "$defs"}
ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "examples"}


def _keywords(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties" or key == "$defs":
                for sub in value.values():
                    found |= _keywords(sub)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                found |= _keywords(value)
            elif key in ("anyOf", "oneOf"):
                for sub in value:
                    found |= _keywords(sub)
    return found


_TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def _errors(schema: dict[str, Any], value: Any, root: dict[str, Any] | None = None,
            at: str = "") -> list[str]:
    root = root or schema
    if "$ref" in schema:
        return _errors(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], value, root, at)
    errors: list[str] = []
    kind = schema.get("type")
    if kind == "number" and not (isinstance(value, int | float) and not isinstance(value, bool)):
        return [f"{at}: not a number"]
    if kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
        return [f"{at}: not an integer"]
    if kind in _TYPES and not isinstance(value, _TYPES[kind]):
        return [f"{at}: not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: not in enum")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: not const")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{at}: too short")
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, ok in (("minimum", value >= schema.get("minimum", value)),
                        ("maximum", value <= schema.get("maximum", value)),
                        ("exclusiveMinimum", "exclusiveMinimum" not in schema
                         or value > schema["exclusiveMinimum"]),
                        ("exclusiveMaximum", "exclusiveMaximum" not in schema
                         or value < schema["exclusiveMaximum"])):
            if not ok:
                errors.append(f"{at}: {key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{at}: too few items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += _errors(schema["items"], item, root, f"{at}/{i}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{at}: missing {name}" for name in schema.get("required", [])
                   if name not in value]
        if len(value) < schema.get("minProperties", 0):
            errors.append(f"{at}: too few properties")
        for key, item in value.items():
            if key in properties:
                errors += _errors(properties[key], item, root, f"{at}/{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{at}: unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += _errors(schema["additionalProperties"], item, root, f"{at}/{key}")
    if "anyOf" in schema and all(_errors(s, value, root, at) for s in schema["anyOf"]):
        errors.append(f"{at}: matches none of anyOf")
    if "oneOf" in schema:
        matching = sum(not _errors(s, value, root, at) for s in schema["oneOf"])
        if matching != 1:
            errors.append(f"{at}: matches {matching} of oneOf")
    return errors
