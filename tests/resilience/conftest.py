"""Teeth tests: each case-study experiment passes with its defence and deviates without it.

Each experiment runs twice through the CLI, with and without ``--disable
<defence>``, the two runs side by side (each its own topology, ports and state
dir) to keep the suite inside its time budget; the second starts once the
first one's topology is up. The runs are *shortened*
copies of the experiments in ``experiments/``: the same topology, load,
probes, tolerances and faults, with shorter windows, warmup and fault
durations (:func:`shortened`), so a verdict here is the verdict of the
experiment a user runs, only measured over less time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoskit.model.duration import parse_seconds
from tests.integration.runner.conftest import (
    Chaoskit,
    Finished,
    processes_mentioning,
    wait_for_line,
)

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def shortened(name: str, folder: Path, *, window: float = 5.0, warmup: float = 2.0,
              recover_within: float = 15.0,
              method: Mapping[int, Mapping[str, str]] | None = None) -> Path:
    """A copy of ``experiments/<name>`` with its time cut, written into ``folder``.

    Load-probe windows are capped at ``window`` (a guardrail keeps its own,
    shorter window), the warmup and the recovery deadline are replaced, and
    ``method`` overrides fields of the faults by index (e.g. ``{0: {"duration":
    "8s"}}``). Nothing else changes: tolerances, load, topology and faults
    are the experiment's own.
    """
    data: dict[str, Any] = yaml.safe_load((EXPERIMENTS / name).read_text())
    for probe in data["steady_state"]:
        if "window" in probe:
            probe["window"] = f"{min(window, parse_seconds(probe['window'])):g}s"
    for index, fields in (method or {}).items():
        data["method"][index].update(fields)
    data["settings"] = {**data.get("settings", {}), "warmup": f"{warmup:g}s",
                        "recover_within": f"{recover_within:g}s"}
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Pair:
    """The two runs of one experiment: with every defence, and with one disabled."""

    defended: Finished
    undefended: Finished
    tools: tuple[Chaoskit, Chaoskit]

    def assert_teeth(self) -> None:
        assert self.defended.code == 0, self.defended.output
        assert self.defended.journal["judgement"]["verdict"] == "passed"
        assert self.undefended.code == 1, self.undefended.output
        # Deviated, not aborted: the steady state itself must show the missing defence.
        assert self.undefended.journal["judgement"]["verdict"] == "deviated", (
            self.undefended.output)
        for tool in self.tools:
            tool.assert_nothing_left()


def run_pair(root: Path, experiment: Path, defence: str | tuple[str, ...], *,
             together: bool = True, env: Mapping[str, str] | None = None,
             timeout: float = 200) -> Pair:
    """Run ``experiment`` with and without ``defence`` (one, or several that defend
    together), side by side unless ``together`` is false (an experiment whose subject
    is the machine's capacity needs it alone).
    """
    defences = (defence,) if isinstance(defence, str) else defence
    label = "+".join(defences)
    tools = (Chaoskit(root / "with"), Chaoskit(root / f"without-{label}"))
    for tool in tools:
        tool.tmp.mkdir(parents=True)
        tool.env.update(env or {})
    deadline = time.monotonic() + timeout * (1 if together else 2)
    first = tools[0].start("run", str(experiment))
    # The second run starts once the first one's instances are listening: each run
    # picks free ports before its processes bind them, so two setups at once can
    # race for one port (and a run's health check be answered by the other's).
    if together:
        early = wait_for_line(first, "phase  warmup", timeout=120)
    else:
        early, _ = first.communicate(timeout=timeout)
    disable = [arg for name in defences for arg in ("--disable", name)]
    processes = [first, tools[1].start("run", str(experiment), *disable)]
    outputs = []
    for process, tool in zip(processes, tools, strict=True):
        output = "" if process.returncode is not None else tool.finish(
            process, max(1.0, deadline - time.monotonic()))
        outputs.append(output)
    outputs[0] = early + outputs[0]
    done = [Finished(p.returncode, out, t.last_run_dir())
            for p, out, t in zip(processes, outputs, tools, strict=True)]
    pair = Pair(done[0], done[1], tools)
    for which, finished in (("with", done[0]), (f"without {label}", done[1])):
        print(f"\n{experiment.name} {which}: {summary(finished)}")
    return pair


def readings(finished: Finished, phase: str) -> dict[str, float | None]:
    """The steady-state readings of one phase, by probe name (the last one wins)."""
    return {e["name"]: e["value"] for e in finished.events("probe")
            if e["phase"] == phase and e["role"] == "steady_state"}


def worst_during(finished: Finished) -> dict[str, float | None]:
    """Per probe, the reading furthest from passing among the fault windows."""
    worst: dict[str, tuple[bool, float | None]] = {}
    for e in finished.events("probe"):
        if e["phase"] != "observe" or e["role"] != "steady_state":
            continue
        if e["name"] not in worst or (worst[e["name"]][0] and not e["ok"]):
            worst[e["name"]] = (e["ok"], e["value"])
    return {name: value for name, (_, value) in worst.items()}


def summary(finished: Finished) -> str:
    if finished.run_dir is None:
        return f"exit {finished.code}, no journal"
    verdict = finished.journal["judgement"]["verdict"]
    during = ", ".join(f"{k}={v:.4g}" if v is not None else f"{k}=none"
                       for k, v in worst_during(finished).items())
    return f"{verdict} (exit {finished.code}); during: {during}"


@pytest.fixture
def pair_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for pid_text in processes_mentioning(str(tmp_path)):
        # A failed test must not leak processes into the next one.
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_text.split(":")[0]), signal.SIGKILL)


HOG = "while True: pass"
"""One busy process: a core's worth of CPU taken from the run beside it."""


@pytest.fixture
def machine(request: pytest.FixtureRequest) -> Iterator[str]:
    """``quiet`` (the machine as it is) or ``cpu-hog``: one busy Python process per core
    for the whole test, so a pair must hold on a machine with no CPU to spare."""
    kind: str = request.param
    hogs: list[subprocess.Popen[bytes]] = []
    if kind == "cpu-hog":
        hogs = [subprocess.Popen([sys.executable, "-c", HOG], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(os.cpu_count() or 1)]
    try:
        yield kind
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait(timeout=10)
