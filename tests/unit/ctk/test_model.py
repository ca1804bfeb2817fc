"""CTK files → typed models: what loads, what is reported as ignored, and file:line errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chaoskit.ctk import (
    Activity,
    HttpProvider,
    ProcessProvider,
    PythonProvider,
    Ref,
    is_ctk_file,
    load_ctk,
)
from chaoskit.ctk.model import JsonPathTolerance, RangeTolerance
from chaoskit.errors import ConfigError

PROBE = {"type": "probe", "name": "up", "tolerance": 200,
         "provider": {"type": "http", "url": "http://127.0.0.1:9/health", "timeout": [1, 2]}}


def _write(tmp_path: Path, data: dict[str, Any] | str, name: str = "experiment.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2),
                    encoding="utf-8")
    return path


def _minimal(**extra: Any) -> dict[str, Any]:
    return {"title": "t", "description": "d",
            "steady-state-hypothesis": {"title": "h", "probes": [copy.deepcopy(PROBE)]},
            "method": [{"type": "action", "name": "kill", "background": True,
                        "pauses": {"before": 1, "after": "${wait}"},
                        "provider": {"type": "process", "path": "kill",
                                     "arguments": ["-9", "${pid}"], "timeout": 5}},
                       {"ref": "up"}],
            **extra}


def test_a_json_experiment_loads_into_typed_activities(tmp_path: Path) -> None:
    experiment = load_ctk(_write(tmp_path, _minimal(
        rollbacks=[{"type": "action", "name": "restart",
                    "provider": {"type": "python", "module": "os", "func": "getcwd"}}],
        runtime={"hypothesis": {"strategy": "continuously", "frequency": 0.5},
                 "rollbacks": {"strategy": "always"}})))
    probe = experiment.hypothesis_probes[0]
    assert isinstance(probe.provider, HttpProvider) and probe.provider.timeout == (1, 2)
    action = experiment.method[0]
    assert isinstance(action, Activity) and action.background
    assert isinstance(action.provider, ProcessProvider)
    assert action.pauses is not None and action.pauses.after == "${wait}"
    assert isinstance(experiment.method[1], Ref)
    assert experiment.resolve(experiment.method[1]) == probe
    assert isinstance(experiment.rollbacks[0], Activity)
    assert isinstance(experiment.rollbacks[0].provider, PythonProvider)
    assert experiment.runtime.hypothesis.frequency == 0.5
    assert experiment.runtime.rollbacks.strategy == "always"
    assert experiment.ignored == ()


def test_yaml_with_ctk_keys_is_recognised_and_chaoskit_yaml_is_not(tmp_path: Path) -> None:
    ctk = _write(tmp_path, "title: t\ndescription: d\nmethod:\n  - ref: x\n", "ctk.yaml")
    native = _write(tmp_path, "title: t\nsteady_state: []\nmethod: []\n", "native.yaml")
    assert is_ctk_file(ctk)
    assert not is_ctk_file(native)
    assert is_ctk_file(_write(tmp_path, _minimal()))


def test_tolerances_are_typed(tmp_path: Path) -> None:
    probes = [
        {**PROBE, "name": "a", "tolerance": {"type": "range", "range": [1, 2.5],
                                              "target": "body"}},
        {**PROBE, "name": "b", "tolerance": {"type": "jsonpath", "path": "$.a", "expect": None}},
        {**PROBE, "name": "c", "tolerance": {"type": "jsonpath", "path": "$.a"}},
    ]
    experiment = load_ctk(_write(tmp_path, {"title": "t", "description": "d", "method": [],
                                            "steady-state-hypothesis": {"title": "h",
                                                                        "probes": probes}}))
    a, b, c = (p.tolerance for p in experiment.hypothesis_probes)
    assert isinstance(a, RangeTolerance) and a.range == (1, 2.5)
    assert isinstance(b, JsonPathTolerance) and b.has_expect and b.expect is None
    assert isinstance(c, JsonPathTolerance) and not c.has_expect


def test_what_chaoskit_does_not_act_on_is_reported_once_with_its_line(tmp_path: Path) -> None:
    data = _minimal(controls=[{"name": "tracing", "provider": {"type": "python",
                                                                "module": "chaostracing"}}],
                    extensions=[{"name": "chaosiq", "verification": {"id": 1}}],
                    contributions={"availability": "high"})
    data["custom"] = 1
    data["method"][0]["timeout"] = 3
    experiment = load_ctk(_write(tmp_path, data))
    notes = "\n".join(experiment.ignored)
    assert "custom: not a Chaos Toolkit key chaoskit knows; ignored" in notes
    assert "controls: controls are not run by chaoskit (tracing); ignored" in notes
    assert "extensions[0]: extension 'chaosiq' is not read by chaoskit" in notes
    assert "method[0].timeout: an activity's timeout is not read" in notes
    assert len(experiment.ignored) == 5
    assert all(line.startswith(f"{tmp_path}/experiment.json:") for line in experiment.ignored)


def _error(tmp_path: Path, data: dict[str, Any] | str, name: str = "experiment.json") -> str:
    with pytest.raises(ConfigError) as raised:
        load_ctk(_write(tmp_path, data, name))
    return raised.value.render() if hasattr(raised.value, "render") else str(raised.value)


def test_a_misspelt_key_is_an_error_at_its_line_not_a_silent_no_op(tmp_path: Path) -> None:
    data = _minimal()
    data["steady-state-hypothesis"]["probes"][0] = {
        "type": "probe", "name": "up", "tolerence": 200,
        "provider": {"type": "http", "url": "http://127.0.0.1:9/"}}
    text = _error(tmp_path, data)
    assert "steady-state-hypothesis.probes[0].tolerence: unknown field 'tolerence'" in text
    lines = json.dumps(data, indent=2).splitlines()
    line = next(n for n, text in enumerate(lines, 1) if '"tolerence"' in text)
    assert f"experiment.json:{line}:" in text


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.pop("method"), "method: required field is missing"),
    (lambda d: d.update(title=""), "title: String should have at least 1 character"),
    (lambda d: d["method"].append({"ref": "nope"}),
     "method[2].ref: no probe or action named 'nope' in the method or hypothesis"),
    (lambda d: d["steady-state-hypothesis"]["probes"][0].update(tolerance=1.5),
     "probes[0].tolerance: expected a tolerance"),
    (lambda d: d["steady-state-hypothesis"]["probes"][0].update(
        tolerance={"type": "regex", "pattern": "[0-9"}),
     "probes[0].tolerance.pattern: pattern [0-9 seems invalid"),
    (lambda d: d["steady-state-hypothesis"]["probes"][0].update(
        tolerance={"type": "boom"}), "probes[0].tolerance: expected a tolerance"),
    (lambda d: d["steady-state-hypothesis"]["probes"][0].pop("tolerance"),
     "probes[0].tolerance: a hypothesis probe needs a tolerance"),
    (lambda d: d["method"][0]["provider"].update(type="grpc"),
     "method[0].provider.type: unknown type 'grpc'; expected one of http, process, python"),
    (lambda d: d["method"][0].update(pauses={"before": "soon"}),
     "method[0].pauses.before: expected a number of seconds or a ${name}"),
    (lambda d: d.update(configuration={"x": {"type": "probe", "name": "p"}}),
     "configuration.x: {type: probe} values are not supported"),
    (lambda d: d.update(runtime={"hypothesis": {"strategy": "sometimes"}}),
     "runtime.hypothesis.strategy: expected 'default'"),
])
def test_malformed_files_name_file_line_and_field(tmp_path: Path, change: Any,
                                                  expected: str) -> None:
    data = _minimal()
    change(data)
    text = _error(tmp_path, data)
    assert expected in text
    assert text.startswith(f"{tmp_path}/experiment.json:")


def test_yaml_errors_are_located_too(tmp_path: Path) -> None:
    text = _error(tmp_path, "title: t\ndescription: d\nmethod:\n  - type: action\n"
                            "    name: a\n    provider: {type: process}\n", "e.yaml")
    assert "e.yaml:6: method[0].provider.path: required field is missing" in text


def test_not_a_mapping_and_wrong_suffix(tmp_path: Path) -> None:
    assert "expected a mapping with title, description and method" in _error(tmp_path, "[1]")
    with pytest.raises(ConfigError, match=r"expected a \.json, \.yaml or \.yml"):
        load_ctk(tmp_path / "x.txt")


def test_a_boolean_written_as_text_is_warned_about(tmp_path: Path) -> None:
    data = _minimal()
    data["steady-state-hypothesis"]["probes"][0]["tolerance"] = "true"
    experiment = load_ctk(_write(tmp_path, data))
    assert len(experiment.warnings) == 1
    assert "steady-state-hypothesis.probes[0].tolerance: 'true' is text" in experiment.warnings[0]
