"""Right verdicts of absolute and compared experiments, quiet and beside a CPU hog; and what
the control group's second deployment costs.

``python -m benchmarks.chap --runs N [--hog] [--experiments NAME ...] [--no-cost]
[--workdir DIR] [--keep]``

**Verdicts.** Each case study (``experiments/<name>.yaml``) has two forms:

- *absolute*: the experiment with fixed tolerances, shortened exactly as its CI teeth test
  runs it (``tests/resilience/test_teeth.py``: 5 s windows, 2 s warmup, the same fault
  overrides), so both forms are measured over about as much time;
- *compared*: ``experiments/compared/<name>.yaml``, a control and an experiment group
  (``groups: {control: true}``) judged against each other.

Each form runs as a pair N times: with every defence (right verdict: passed) and with the
case's defences switched off (``--disable``; right verdict: deviated), the two runs side
by side as the teeth tests run them (the second starts once the first one's topology is
up). Quiet first; with ``--hog`` the same again beside a CPU hog for the whole pair:
``stress-ng --cpu <cores>`` when Debian's stress-ng is installed, else one busy Python
process per core. The table counts right verdicts per form, case and machine, and lists
every wrong one with the readings that made it.

**Cost.** One case (``netflix_instance``: the full two-region platform, 27 processes a
deployment) runs once in each form, defended and alone, while the benchmark samples the
run's processes twice a second (every process whose environment names the run's state
folder, which every child inherits): the peak number of processes, the peak of the sum
of their resident memory (RSS; shared pages counted once per process, so an upper bound)
and of their proportional set size (PSS, shared pages divided among their users), and the
seconds of the SETUP phase (starting the topologies, links and load until WARMUP: the
start-up) from the run's journal.

Each run is the CLI as a user starts it (``python -m chaoskit run FILE --plain``) with its
own state and reports folders under one work folder, removed at the end unless ``--keep``.
The machine is whatever else runs on it: the figures say how the forms compare on it, not
what they would be on an idle one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.soak import run_processes
from chaoskit.model.duration import parse_seconds

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
COMPARED = EXPERIMENTS / "compared"
FORMS = ("absolute", "compared")
RUN_TIMEOUT = 300.0
"""Seconds one run may take (the longest pair, Chaos Kong, takes ~100 s beside a hog)."""


@dataclass(frozen=True)
class Case:
    """A case study: its file name, the defences its teeth need, how CI shortens it."""

    name: str
    defences: tuple[str, ...]
    recover_within: float = 15.0
    method: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


# The absolute forms as tests/resilience/test_teeth.py shortens them.
CASES = (
    Case("netflix_instance.yaml", ("retries",), method={0: {"duration": "8s"}}),
    Case("netflix_az.yaml", ("retries",), method={0: {"duration": "10s"}}),
    Case("netflix_az_isolate.yaml", ("retries", "circuit_breaker")),
    Case("netflix_region.yaml", ("failover",), recover_within=30,
         method={0: {"duration": "14s"}, 1: {"duration": "18s"}}),
    Case("netflix_dependency_loss.yaml", ("stale_fallback",), method={0: {"duration": "10s"}}),
    Case("netflix_latency.yaml", ("circuit_breaker",), method={0: {"duration": "10s"}}),
    Case("stripe_retries.yaml", ("idempotency",), recover_within=8, method={
        0: {"duration": "16s"}, 1: {"duration": "16s"}, 2: {"after": "4s", "duration": "12s"}}),
    Case("amazon_prime_day.yaml", ("load_shedding",), recover_within=10,
         method={0: {"after": "8s", "duration": "10s"}}, env={"PRIME_DAY_OPENS_AT": "10"}),
)
COST_CASE = "netflix_instance.yaml"


def shortened(case: Case, folder: Path) -> Path:
    """The absolute form: ``experiments/<name>`` with CI's shortened windows and faults."""
    data: dict[str, Any] = yaml.safe_load((EXPERIMENTS / case.name).read_text())
    for probe in data["steady_state"]:
        if "window" in probe:
            probe["window"] = f"{min(5.0, parse_seconds(probe['window'])):g}s"
    for index, fields in case.method.items():
        data["method"][index].update(fields)
    data["settings"] = {**data.get("settings", {}), "warmup": "2s",
                        "recover_within": f"{case.recover_within:g}s"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / case.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def experiment_file(case: Case, form: str, folder: Path) -> Path:
    return shortened(case, folder) if form == "absolute" else COMPARED / case.name


# -- one run -----------------------------------------------------------------------------


@dataclass
class Run:
    """One CLI run and what it left: exit code, verdict, readings, its journal."""

    code: int | None
    verdict: str
    journal: dict[str, Any] | None
    output: str
    seconds: float

    def during(self) -> str:
        """The steady-state readings taken during the faults, for a wrong verdict's line."""
        if self.journal is None:
            return self.output.strip().splitlines()[-1] if self.output.strip() else "no output"
        parts = []
        for event in self.journal["history"]["events"]:
            if event["type"] == "probe" and event["role"] == "steady_state" \
                    and event["phase"] == "observe":
                value = "none" if event["value"] is None else f"{event['value']:.4g}"
                if event.get("control") is not None:
                    value += f" vs {event['control']:.4g} p={event.get('p_value') or 0:.3g}"
                parts.append(f"{event['name']}={value}{'' if event['ok'] else ' FAIL'}")
        reasons = self.journal["judgement"]["reasons"]
        return "; ".join(parts) or (reasons[0] if reasons else "no readings")


class Started:
    """A CLI run in progress whose output is read on a thread (so a pipe never fills)."""

    def __init__(self, experiment: Path, folder: Path, disable: Sequence[str],
                 env: Mapping[str, str]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.began = time.monotonic()
        args = [sys.executable, "-m", "chaoskit", "run", str(experiment), "--plain",
                "--reports", str(folder / "reports")]
        args += [arg for name in disable for arg in ("--disable", name)]
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **env, "CHAOSKIT_STATE_DIR": str(folder / "state"),
                 "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self.warmup = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "phase  warmup" in line:
                self.warmup.set()
        self.warmup.set()  # ended before its warmup: let the pair go on

    def finish(self, deadline: float) -> Run:
        try:
            self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)  # revert and tear down, as a user would
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=120)
        if self.process.returncode is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        seconds = time.monotonic() - self.began
        journals = sorted((self.folder / "reports").glob("*/journal.json"))
        journal = json.loads(journals[-1].read_text()) if journals else None
        verdict = journal["judgement"]["verdict"] if journal else f"exit {self.process.returncode}"
        kill_leftovers(self.folder)
        return Run(self.process.returncode, verdict, journal, "".join(self.lines), seconds)


def kill_leftovers(folder: Path) -> None:
    """A run that failed to tear down must not leak into the next one's measurements."""
    for pid in run_processes(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def work_folder(workdir: Path | None, keep: bool, prefix: str) -> Iterator[Path]:
    """The folder runs write to; on the way out, whatever they left is killed, and the
    folder removed unless the user named it or asked to ``keep`` it."""
    work = workdir or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    try:
        yield work
    finally:
        print(f"\n{time.monotonic() - began:.0f} s; load average now "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        kill_leftovers(work)
        if not keep and workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def run_pair(experiment: Path, case: Case, folder: Path) -> tuple[Run, Run]:
    """Defended and undefended side by side, the second once the first one's topology is
    up (two setups at once could race for a free port)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    defended = Started(experiment, folder / "defended", (), case.env)
    defended.warmup.wait(timeout=180)
    undefended = Started(experiment, folder / "undefended", case.defences, case.env)
    return defended.finish(deadline), undefended.finish(deadline + 60)


# -- the CPU hog -------------------------------------------------------------------------


@contextlib.contextmanager
def cpu_hog(on: bool) -> Iterator[str]:
    """Every core kept busy beside the runs: stress-ng when installed, else busy loops."""
    if not on:
        yield "quiet"
        return
    cores = os.cpu_count() or 1
    stress = shutil.which("stress-ng")
    if stress:
        hogs = [subprocess.Popen([stress, "--cpu", str(cores), "--quiet"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)]
        kind = f"stress-ng --cpu {cores}"
    else:
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(cores)]
        kind = f"{cores} busy processes"
    try:
        yield kind
    finally:
        for hog in hogs:
            _stop(hog, signal.SIGTERM, group=bool(stress))
        for hog in hogs:
            try:
                hog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _stop(hog, signal.SIGKILL, group=bool(stress))
                hog.wait()


def _stop(hog: subprocess.Popen[bytes], sig: signal.Signals, group: bool) -> None:
    # stress-ng forks its workers into the session it leads: signal the whole group.
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(hog.pid, sig)
        else:
            hog.send_signal(sig)


# -- verdicts ----------------------------------------------------------------------------


@dataclass
class Tally:
    right: int = 0
    runs: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, run: Run, expected: str, label: str) -> None:
        self.runs += 1
        if run.verdict == expected:
            self.right += 1
        else:
            self.wrong.append(f"{label}: {run.verdict}, expected {expected} ({run.during()})")


def verdicts(cases: Sequence[Case], runs: int, machines: Sequence[str], work: Path,
             forms: Sequence[str] = FORMS) -> dict[tuple[str, str, str], Tally]:
    """(machine, form, case) → right verdicts over ``runs`` pairs (two runs each)."""
    tallies: dict[tuple[str, str, str], Tally] = {}
    for machine in machines:
        with cpu_hog(machine == "hog") as kind:
            print(f"\n== {machine} ({kind})", flush=True)
            for index in range(runs):
                for case in cases:
                    for form in forms:
                        folder = work / machine / form / case.name.removesuffix(".yaml") \
                            / str(index)
                        experiment = experiment_file(case, form, folder)
                        defended, undefended = run_pair(experiment, case, folder)
                        tally = tallies.setdefault((machine, form, case.name), Tally())
                        label = f"{machine} {form} {case.name} #{index + 1}"
                        tally.add(defended, "passed", f"{label} defended")
                        without = "+".join(case.defences)
                        tally.add(undefended, "deviated", f"{label} without {without}")
                        print(f"{label}: defended {defended.verdict} ({defended.seconds:.0f} s), "
                              f"undefended {undefended.verdict} ({undefended.seconds:.0f} s)",
                              flush=True)
                        if defended.verdict != "passed":
                            print(f"    defended: {defended.during()}", flush=True)
                        if undefended.verdict != "deviated":
                            print(f"    undefended: {undefended.during()}", flush=True)
    return tallies


def verdict_table(cases: Sequence[Case], machines: Sequence[str],
                  tallies: Mapping[tuple[str, str, str], Tally],
                  forms: Sequence[str] = FORMS) -> str:
    """Right verdicts, e.g. ``7/8``, per case, form and machine; totals at the bottom."""
    columns = [(m, f) for m in machines for f in forms]
    head = ["case"] + [f"{f} · {m}" for m, f in columns]
    rows = []
    for case in cases:
        cells = [case.name.removesuffix(".yaml")]
        for machine, form in columns:
            tally = tallies.get((machine, form, case.name))
            cells.append("—" if tally is None else f"{tally.right}/{tally.runs}")
        rows.append(cells)
    totals = ["all"]
    for machine, form in columns:
        mine = [t for (m, f, _), t in tallies.items() if (m, f) == (machine, form)]
        totals.append(f"{sum(t.right for t in mine)}/{sum(t.runs for t in mine)}")
    rows.append(totals)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    wrong = [w for t in tallies.values() for w in t.wrong]
    if wrong:
        lines += ["", "wrong verdicts:", *(f"  {w}" for w in wrong)]
    return "\n".join(lines)


# -- cost --------------------------------------------------------------------------------


@dataclass
class Cost:
    form: str
    processes: int = 0
    rss_mb: float = 0.0
    pss_mb: float = 0.0
    setup_s: float | None = None
    deployments: str = ""
    """Each deployment's own start-up (the runner's Deployed events), with groups."""
    verdict: str = ""


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from /proc (0 for a process already gone)."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def measure_cost(case: Case, form: str, work: Path) -> Cost:
    """One defended run alone, sampled twice a second: peak processes and memory."""
    folder = work / "cost" / form
    experiment = experiment_file(case, form, folder)
    cost = Cost(form)
    started = Started(experiment, folder / "run", (), case.env)
    while started.process.poll() is None:
        pids = [p for p in run_processes(folder) if p != started.process.pid]
        memory = [_memory_kb(p) for p in pids]
        cost.processes = max(cost.processes, len(pids))
        cost.rss_mb = max(cost.rss_mb, sum(m[0] for m in memory) / 1024)
        cost.pss_mb = max(cost.pss_mb, sum(m[1] for m in memory) / 1024)
        time.sleep(0.5)
    run = started.finish(time.monotonic() + RUN_TIMEOUT)
    cost.verdict = run.verdict
    if run.journal is not None:
        starts = {e["phase"]: e["t"] for e in run.journal["history"]["events"]
                  if e["type"] == "phase"}
        if "setup" in starts and "warmup" in starts:
            cost.setup_s = starts["warmup"] - starts["setup"]
        cost.deployments = ", ".join(
            f"{e['group']} {e['seconds']:.1f} s" for e in run.journal["history"]["events"]
            if e["type"] == "deployed")
    return cost


def cost_table(costs: Sequence[Cost]) -> str:
    lines = ["form      processes  RSS sum (MB)  PSS sum (MB)  setup (s)  verdict   "
             "deployments"]
    for c in costs:
        setup = "—" if c.setup_s is None else f"{c.setup_s:.1f}"
        lines.append(f"{c.form:<9} {c.processes:>9}  {c.rss_mb:>12.0f}  {c.pss_mb:>12.0f}  "
                     f"{setup:>9}  {c.verdict:<8}  {c.deployments}")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="pairs per form, case and machine")
    parser.add_argument("--hog", action="store_true", help="also run every pair beside a CPU hog")
    parser.add_argument("--hog-only", action="store_true", help="only beside the CPU hog")
    parser.add_argument("--experiments", nargs="*", metavar="NAME",
                        help="case studies by file name (default: all eight)")
    parser.add_argument("--forms", nargs="+", choices=FORMS, default=list(FORMS),
                        help="which forms to run (default: both)")
    parser.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    parser.add_argument("--no-verdicts", action="store_true", help="only measure the cost")
    parser.add_argument("--cost-case", default=COST_CASE, metavar="NAME",
                        help=f"the case whose two forms are measured (default: {COST_CASE})")
    parser.add_argument("--workdir", type=Path, help="where runs write (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    # SIGTERM ends the benchmark through its finally blocks, which stop the hog and the runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = {n if n.endswith(".yaml") else f"{n}.yaml" for n in args.experiments or ()}
    cases = [c for c in CASES if not wanted or c.name in wanted]
    unknown = wanted - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case {', '.join(sorted(unknown))}; expected one of "
                     f"{', '.join(c.name for c in CASES)}")
    machines = ["hog"] if args.hog_only else ["quiet", "hog"] if args.hog else ["quiet"]
    with work_folder(args.workdir, args.keep, "chaoskit-chap-") as work:
        print(f"work folder {work}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores", flush=True)
        if not args.no_verdicts:
            tallies = verdicts(cases, args.runs, machines, work, args.forms)
            print(f"\nRight verdicts ({args.runs} pair(s) per cell: defended → passed, "
                  "undefended → deviated)\n")
            print(verdict_table(cases, machines, tallies, args.forms))
        if not args.no_cost:
            name = args.cost_case if args.cost_case.endswith(".yaml") else f"{args.cost_case}.yaml"
            cost_case = next((c for c in CASES if c.name == name), None)
            if cost_case is None:
                parser.error(f"unknown case {name}")
            costs = [measure_cost(cost_case, form, work) for form in FORMS]
            print(f"\nWhat the control group costs ({name}, defended, alone)\n")
            print(cost_table(costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
