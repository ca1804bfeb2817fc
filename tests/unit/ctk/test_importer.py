"""``chaoskit import ctk``: native chaoskit YAML where every part has a form, else the CTK
experiment kept whole with the native forms of its parts in the header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.ctk.importer import import_ctk
from chaoskit.ctk.load import load_ctk
from chaoskit.errors import ConfigError
from chaoskit.loader import load_experiment
from chaoskit.model.faults import InstanceKill
from chaoskit.model.probes import CommandProbe, HttpProbe
from tests.ctk_corpus.harness import corpus_files

REPO = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, experiment: dict[str, Any], name: str = "exp.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(experiment, indent=2))
    return path


def _imported(tmp_path: Path, source: Path, topology: str | None = None) -> Path:
    out = tmp_path / "imported.yaml"
    out.write_text(import_ctk(source, topology=topology))
    return out


def _header(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))


NATIVE: dict[str, Any] = {
    "title": "The storefront answers",
    "description": "CTK experiment with native forms only",
    "configuration": {"host": "127.0.0.1:8080"},
    "steady-state-hypothesis": {
        "title": "healthy",
        "probes": [
            {"type": "probe", "name": "home-page", "tolerance": 200,
             "provider": {"type": "http", "url": "http://${host}/", "timeout": 1.5}},
            {"type": "probe", "name": "health-ok", "tolerance": [204],
             "provider": {"type": "http", "url": "http://${host}/health"}},
            {"type": "probe", "name": "config-present", "tolerance": 0,
             "provider": {"type": "process", "path": "test", "arguments": ["-f", "app.cfg"],
                          "timeout": 3}},
            {"type": "probe", "name": "grep-status", "tolerance": 1,
             "provider": {"type": "process", "path": "grep",
                          "arguments": "-q error app.log"}},
        ],
    },
    "method": [
        {"type": "action", "name": "kill-playback", "pauses": {"after": 5},
         "provider": {"type": "process", "path": "pkill", "arguments": ["-9", "-f", "playback"]}},
    ],
}


def test_an_experiment_with_native_forms_only_becomes_a_valid_chaoskit_experiment(
        tmp_path: Path) -> None:
    source = _write(tmp_path, NATIVE)
    out = _imported(tmp_path, source, topology=str(REPO / "targets" / "netflix.yaml"))

    experiment = load_experiment(out)  # what `chaoskit validate` checks

    assert experiment.title == "The storefront answers"
    probes = {p.name: p for p in experiment.steady_state}
    home = probes["home-page"].probe
    assert isinstance(home, HttpProbe)
    assert (home.url, home.status, home.timeout) == ("http://127.0.0.1:8080/", 200, 1.5)
    assert probes["home-page"].tolerance.accepts(1.0)
    assert not probes["home-page"].tolerance.accepts(0.0)
    health = probes["health-ok"].probe
    assert isinstance(health, HttpProbe) and health.status == 204
    config = probes["config-present"].probe
    assert isinstance(config, CommandProbe)
    assert config.command == ("test", "-f", "app.cfg") and config.timeout == 3
    assert probes["config-present"].tolerance.accepts(0)
    grep = probes["grep-status"].probe
    # CTK runs a string of arguments through a shell; so does the imported probe.
    assert isinstance(grep, CommandProbe) and grep.command == ("sh", "-c", "grep -q error app.log")
    assert probes["grep-status"].tolerance.accepts(1)
    assert not probes["grep-status"].tolerance.accepts(0)
    (kill,) = experiment.method
    assert isinstance(kill, InstanceKill)
    assert (kill.service, kill.percent, kill.duration, kill.label) == \
        ("playback", 100, 5.0, "kill-playback")
    assert "Every part has a native chaoskit form" in _header(out.read_text())


def test_a_native_kill_without_a_topology_says_to_add_one(tmp_path: Path) -> None:
    text = import_ctk(_write(tmp_path, NATIVE))

    assert "add 'topology: FILE'" in _header(text)
    assert "topology" not in yaml.safe_load(text)


def test_a_kill_without_a_pause_is_held_ten_seconds(tmp_path: Path) -> None:
    experiment = json.loads(json.dumps(NATIVE))
    del experiment["method"][0]["pauses"]
    experiment["method"][0]["provider"] = {"type": "process", "path": "killall",
                                           "arguments": "ratings"}

    (kill,) = yaml.safe_load(import_ctk(_write(tmp_path, experiment)))["method"]

    assert kill == {"fault": "instance_kill", "service": "ratings", "percent": 100,
                    "duration": "10s", "label": "kill-playback"}


@pytest.mark.parametrize(("change", "reason"), [
    (lambda e: e["steady-state-hypothesis"]["probes"].append(
        {"type": "probe", "name": "py", "tolerance": True,
         "provider": {"type": "python", "module": "os.path", "func": "exists",
                      "arguments": {"path": "x"}}}),
     "steady-state-hypothesis probe 'py': a python provider (os.path.exists) has no chaoskit "
     "form"),
    (lambda e: e["steady-state-hypothesis"]["probes"][0].update(tolerance=[200, 301, 302]),
     "probe 'home-page': an http tolerance other than one status"),
    (lambda e: e["steady-state-hypothesis"]["probes"][0]["provider"].update(
        headers={"Authorization": "Bearer x"}),
     "probe 'home-page': an http call other than a plain GET"),
    (lambda e: e["configuration"].update(host={"type": "env", "key": "HOST"}),
     "probe 'home-page': its url needs a value from the environment"),
    (lambda e: e["steady-state-hypothesis"]["probes"][2].update(
        tolerance={"type": "regex", "pattern": "ok", "target": "stdout"}),
     "probe 'config-present': a process tolerance other than one exit status"),
    (lambda e: e.update(rollbacks=[{"type": "action", "name": "restart",
                                    "provider": {"type": "process", "path": "true"}}]),
     "rollbacks: chaoskit faults revert themselves"),
    (lambda e: e["method"].append({"type": "action", "name": "touch",
                                   "provider": {"type": "process", "path": "touch",
                                                "arguments": "x"}}),
     "method[1] action 'touch': a process action other than pkill/killall"),
    (lambda e: e["method"].append({"ref": "home-page"}),
     "method[1] probe 'home-page': a ref"),
    (lambda e: e["method"][0]["provider"].update(arguments=["-f", "a", "b"]),
     "method[0] action 'kill-playback': a kill of something other than one service name"),
    (lambda e: e.update(runtime={"hypothesis": {"strategy": "continuously"}}),
     "runtime.hypothesis.strategy continuously"),
    (lambda e: e.pop("steady-state-hypothesis"),
     "steady-state-hypothesis: no probes"),
])
def test_a_part_without_a_native_form_keeps_the_experiment_as_ctk(
        tmp_path: Path, change: Any, reason: str) -> None:
    experiment = json.loads(json.dumps(NATIVE))
    change(experiment)
    source = _write(tmp_path, experiment)

    out = _imported(tmp_path, source)
    header = " ".join(line.lstrip("# ").strip() for line in _header(out.read_text()).splitlines())

    assert reason in header
    assert "Kept as a Chaos Toolkit experiment" in header
    # Still the same CTK experiment, now in YAML (what `chaoskit run` runs through the
    # CTK engine).
    assert load_ctk(out).model_dump() == load_ctk(source).model_dump()


def test_the_header_gives_the_native_forms_of_the_parts_that_have_one(tmp_path: Path) -> None:
    experiment = json.loads(json.dumps(NATIVE))
    experiment["rollbacks"] = [{"type": "action", "name": "restart",
                                "provider": {"type": "process", "path": "true"}}]

    text = import_ctk(_write(tmp_path, experiment))
    lines = _header(text).splitlines()
    start = lines.index("# Native chaoskit forms of the rest, to move into a chaoskit experiment:")
    native = yaml.safe_load("\n".join(line[4:] for line in lines[start + 1:]))

    assert [p["name"] for p in native["steady_state"]] == \
        ["home-page", "health-ok", "config-present", "grep-status"]
    assert native["method"][0]["fault"] == "instance_kill"
    (tmp_path / "native.yaml").write_text(yaml.safe_dump(
        {"title": "t", "topology": str(REPO / "targets" / "netflix.yaml"), **native}))
    load_experiment(tmp_path / "native.yaml")


def test_a_malformed_ctk_file_is_a_located_config_error(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text('{\n  "title": "t",\n  "description": "d",\n  "method": [\n'
                      '    {"type": "action", "name": "a", "provider": {"type": "pizza"}}\n'
                      "  ]\n}\n")

    with pytest.raises(ConfigError) as raised:
        import_ctk(source)

    assert f"{source}:5" in str(raised.value)


@pytest.mark.parametrize("source", corpus_files(), ids=lambda p: p.stem)
def test_every_corpus_experiment_imports_to_the_same_experiment(
        tmp_path: Path, source: Path) -> None:
    out = _imported(tmp_path, source)
    text = out.read_text()
    assert text.startswith(f"# Imported from {source.name} by chaoskit import ctk.")
    assert load_ctk(out).model_dump() == load_ctk(source).model_dump()
