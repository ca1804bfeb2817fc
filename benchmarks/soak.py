"""Interrupted-run soak: N real runs, each interrupted at a random moment, nothing left behind.

``python -m benchmarks.soak N [--seed S] [--platform local|docker] [--experiments FILE ...]
[--phases PHASE ...] [--signals SIG ...] [--workdir DIR] [--keep]``

Each run is the CLI exactly as a user starts it, ``python -m chaoskit run FILE
--plain --reports DIR``, on one of the shipped experiments (``experiments/*.yaml``
except GameDays, unchanged), with its own ``CHAOSKIT_STATE_DIR`` and reports
folder under one work folder. The soak reads the run's ``--plain`` lines to know
its phase, and once the run reaches the chosen phase (setup, warmup, baseline,
inject, observe, revert, recover, verify, report, teardown) waits a random part
of it and sends SIGINT, SIGTERM or SIGKILL. The (signal, phase) pairs are dealt so
that every 27 runs cover every signal in every phase with a duration; the phase
*covered* is the last phase line the run printed before the signal.

After SIGINT or SIGTERM the run must revert, tear down and exit by itself (130);
after SIGKILL the soak runs ``python -m chaoskit rollback`` with the run's state
folder. Then it looks for what the run left:

- processes: any whose command line or environment mentions the run's folder
  (every child inherits ``CHAOSKIT_STATE_DIR``), or that carries the run's marker
  ``CHAOSKIT_RUN=<run id>``; the embedded proxy server (``chaoskit proxy serve``)
  and a real ``toxiproxy-server`` are counted apart as proxy servers;
- listeners: every TCP port on 127.0.0.1 the run's processes were seen listening
  on (sampled twice a second from ``/proc/net/tcp``) or that the run's logs say
  was bound ("listening on http://127.0.0.1:PORT"), still listening afterwards
  and held by a process of the run or one started before the run ended (a port
  since taken by someone else's new process is reported as reused, not left);
- containers labelled ``chaoskit.run=<run id>``, with ``--platform docker``;
- state files in the run's state folder;
- tracebacks: "Traceback (most recent call last)" in the output of the run or of
  the rollback.

It prints one line per run, then a table: runs, signal x phase covered, exit
codes, leftovers by kind, tracebacks. The exit status is 1 if anything was left
or a traceback was printed (or a run hung after SIGINT/SIGTERM), else 0. The work
folder is removed at the end unless ``--keep`` or a run left something.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.state import RUN_ENV, RUN_LABEL, process_alive

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
PHASES = ("setup", "warmup", "baseline", "inject", "observe", "revert", "recover", "verify",
          "report", "teardown")
TARGETS = ("setup", "warmup", "baseline", "inject", "observe", "revert", "recover", "verify",
           "teardown")
"""Phases a signal is aimed at. ``report`` lasts no time at all: it is covered when a
signal aimed at ``teardown`` lands a moment early."""
LINGER = {"setup": 4.0, "warmup": 4.0, "baseline": 8.0, "inject": 0.0, "observe": 8.0,
          "revert": 0.0, "recover": 2.0, "verify": 8.0, "report": 0.0, "teardown": 0.3}
"""Up to how long after its phase line a signal may come (a random part of the phase)."""
PHASE_LINE = re.compile(r"^\s*\d+(?:\.\d+)?s\s+phase\s+(\w+)")
LISTENING = re.compile(r"(?:listening on|running on) https?://127\.0\.0\.1:(\d+)")
TRACEBACK = "Traceback (most recent call last)"
REACH_TIMEOUT = 240.0
"""Seconds a run may take to reach its phase (a whole run of the longest experiment)."""
EXIT_TIMEOUT = 120.0
"""Seconds a run may take to revert and tear down after SIGINT/SIGTERM."""
GRACE = 5.0
"""Seconds leftovers get to disappear (the kernel reaping) before they count."""


# -- /proc ------------------------------------------------------------------------------


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return b""


def _start_ticks(pid: int) -> int | None:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    if not stat:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def _now_ticks() -> int:
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def cmdline(pid: int) -> str:
    return _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


def run_processes(folder: Path, run_ids: Iterable[str] = ()) -> list[int]:
    """Live processes mentioning ``folder`` (command line or environment) or carrying the
    marker of one of ``run_ids``."""
    text = str(folder).encode()
    markers = {f"{RUN_ENV}={run_id}".encode() for run_id in run_ids}
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        environ = _read(f"/proc/{pid}/environ")
        line = _read(f"/proc/{pid}/cmdline")
        if (text in environ or text in line
                or markers.intersection(environ.split(b"\0"))) and process_alive(pid):
            found.append(pid)
    return found


def listening_inodes() -> dict[int, int]:
    """Socket inode -> port, for every TCP socket listening on 127.0.0.1, ::1 or any."""
    found: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in _read(table).decode().splitlines()[1:]:
            cols = row.split()
            if len(cols) < 10 or cols[3] != "0A":  # 0A: LISTEN
                continue
            address, port = cols[1].rsplit(":", 1)
            if address in ("0100007F", "00000000", "00000000000000000000000001000000",
                           "00000000000000000000000000000000"):
                found[int(cols[9])] = int(port, 16)
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def listeners_of(pids: Iterable[int]) -> set[int]:
    """Ports on which any of ``pids`` listens."""
    listening = listening_inodes()
    return {listening[i] for pid in pids for i in socket_inodes(pid) if i in listening}


def holders(ports: set[int]) -> dict[int, list[int]]:
    """For each of ``ports`` still listening: the pids holding it ([] if none is visible)."""
    listening = listening_inodes()
    wanted = {inode: port for inode, port in listening.items() if port in ports}
    held: dict[int, list[int]] = {port: [] for port in wanted.values()}
    if not wanted:
        return held
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            for inode in socket_inodes(int(entry.name)) & wanted.keys():
                held[wanted[inode]].append(int(entry.name))
    return held


# -- one run ----------------------------------------------------------------------------


@dataclass
class Plan:
    index: int
    experiment: Path
    signal: signal.Signals
    target: str
    linger: float


@dataclass
class Outcome:
    plan: Plan
    phase: str = "start"
    """The last phase line printed before the signal ("finished": none was sent)."""
    exit_code: int | None = None
    seconds: float = 0.0
    hung: bool = False
    leftovers: dict[str, list[str]] = field(default_factory=dict)
    tracebacks: list[str] = field(default_factory=list)
    rollback_lines: list[str] = field(default_factory=list)
    ports: int = 0
    """How many 127.0.0.1 ports the run was seen listening on (each checked afterwards)."""
    folder: Path | None = None

    @property
    def clean(self) -> bool:
        return not any(self.leftovers.values()) and not self.tracebacks and not self.hung


class Reader(threading.Thread):
    """Collects a process's output lines into a queue (and a list, for the record)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []

    def run(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.seen.append(line)
            self.lines.put(line)
        self.lines.put(None)


def run_ids_in(folder: Path) -> set[str]:
    """Run ids the run used: its run folder's name, and any state file's name."""
    ids = {p.name for p in (folder / "reports").glob("*") if p.is_dir()}
    ids |= {p.stem for p in (folder / "state").glob("*.json")}
    return ids


def logged_ports(folder: Path) -> set[int]:
    ports: set[int] = set()
    for log in (folder / "reports").glob("*/**/*.log"):
        with contextlib.suppress(OSError):
            ports.update(int(p) for p in LISTENING.findall(log.read_text(errors="replace")))
    return ports


def soak_one(plan: Plan, folder: Path, platform: str) -> Outcome:
    outcome = Outcome(plan, folder=folder)
    env = {**os.environ, "CHAOSKIT_STATE_DIR": str(folder / "state"), "PYTHONUNBUFFERED": "1"}
    env.pop(RUN_ENV, None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "chaoskit", "run", str(plan.experiment), "--plain",
         "--reports", str(folder / "reports"), "--platform", platform],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    reader = Reader(process)
    reader.start()
    ports: set[int] = set()
    try:
        outcome.phase = _drive(plan, process, reader, folder, ports)
        if outcome.phase != "finished":
            process.send_signal(plan.signal)
        try:
            outcome.exit_code = process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            outcome.hung = True
            process.kill()
            outcome.exit_code = process.wait()
        reader.join(timeout=10)
        ended = _now_ticks()
        if plan.signal == signal.SIGKILL or outcome.hung:
            rollback = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], cwd=ROOT,
                                      env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                      text=True, timeout=120)
            outcome.rollback_lines = (rollback.stdout + rollback.stderr).splitlines()
            if rollback.returncode != 0:
                outcome.leftovers.setdefault("rollback failed", []).append(
                    f"exit {rollback.returncode}")
        outcome.seconds = time.monotonic() - started
        ports |= logged_ports(folder)
        outcome.ports = len(ports)
        outcome.leftovers.update(find_leftovers(folder, ports, ended, platform))
        for source, lines in (("run", reader.seen), ("rollback", outcome.rollback_lines)):
            text = "".join(lines) if source == "run" else "\n".join(lines)
            if TRACEBACK in text:
                outcome.tracebacks.append(f"{source}: {text[text.index(TRACEBACK):][:2000]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _kill_all(folder)
    return outcome


def _drive(plan: Plan, process: subprocess.Popen[str], reader: Reader, folder: Path,
           ports: set[int]) -> str:
    """Follow the run until the planned moment; return the phase it is in ("finished" if it
    ended first). Samples the run's listening ports on the way."""
    phase = "start"
    fire_at: float | None = None
    deadline = time.monotonic() + REACH_TIMEOUT
    next_sample = 0.0
    while True:
        now = time.monotonic()
        if now >= next_sample:
            ports |= listeners_of(run_processes(folder))
            next_sample = now + 0.5
        if fire_at is not None and now >= fire_at:
            return phase
        if now > deadline:
            return phase  # never reached it: interrupt wherever it is
        try:
            line = reader.lines.get(timeout=0.05)
        except queue.Empty:
            continue
        if line is None:
            process.wait()
            return "finished"
        match = PHASE_LINE.match(line)
        if match is None:
            continue
        phase = match.group(1)
        if fire_at is None and _reached(phase, plan.target):
            fire_at = time.monotonic() + plan.linger


def _reached(phase: str, target: str) -> bool:
    if phase == target:
        return True
    # A phase past the target (a not-steady baseline skips to report): interrupt there.
    if phase in PHASES and target in PHASES:
        return PHASES.index(phase) > PHASES.index(target)
    return phase not in PHASES  # an unknown new phase line: the run moves on, follow it


def find_leftovers(folder: Path, ports: set[int], ended: int,
                   platform: str) -> dict[str, list[str]]:
    """What of the run in ``folder`` is still there, by kind (waits up to GRACE for it to go)."""
    deadline = time.monotonic() + GRACE
    while True:
        found = _leftovers_now(folder, ports, ended, platform)
        if not any(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _leftovers_now(folder: Path, ports: set[int], ended: int,
                   platform: str) -> dict[str, list[str]]:
    run_ids = run_ids_in(folder)
    pids = run_processes(folder, run_ids)
    found: dict[str, list[str]] = {"processes": [], "proxy servers": [], "listeners": [],
                                   "containers": [], "state files": []}
    for pid in pids:
        line = cmdline(pid)
        kind = "proxy servers" if ("proxy serve" in line or "toxiproxy" in line) else "processes"
        found[kind].append(f"pid {pid}: {line[:120]}")
    for port, holding in holders(ports).items():
        ours = [pid for pid in holding if pid in pids
                or (_start_ticks(pid) or ended + 1) <= ended]
        if ours or not holding:
            who = ", ".join(f"pid {pid} {cmdline(pid)[:60]}" for pid in ours) or "no visible holder"
            found["listeners"].append(f"127.0.0.1:{port} ({who})")
    found["state files"] = [str(p) for p in sorted((folder / "state").glob("*.json"))]
    if platform == "docker":
        found["containers"] = _containers(run_ids)
    return found


def _containers(run_ids: set[str]) -> list[str]:
    import docker

    client = docker.from_env(timeout=30)
    try:
        return [f"{c.name} ({c.status})" for run_id in sorted(run_ids)
                for c in client.containers.list(all=True,
                                                filters={"label": f"{RUN_LABEL}={run_id}"})]
    finally:
        client.close()


def _kill_all(folder: Path) -> None:
    """Whatever of the run is still alive goes now (already counted): the next run starts
    on a clean machine."""
    for pid in run_processes(folder, run_ids_in(folder)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# -- the soak ---------------------------------------------------------------------------


def shipped_experiments() -> list[Path]:
    """The shipped experiments: ``experiments/*.yaml`` that are not GameDays."""
    return [p for p in sorted((ROOT / "experiments").glob("*.yaml"))
            if not p.name.startswith("gameday")]


def plans(count: int, seed: int, experiments: Sequence[Path],
          targets: Sequence[str] = TARGETS,
          signals: Sequence[signal.Signals] = SIGNALS) -> list[Plan]:
    """``count`` runs. Run i gets signal i mod 3 and, per signal, the shuffled phases in
    turn, so every 27 runs cover every (signal, phase) pair; experiments in shuffled turn."""
    rng = random.Random(seed)
    phases = list(targets)
    rng.shuffle(phases)
    files = list(experiments)
    rng.shuffle(files)
    result = []
    for i in range(count):
        sig = signals[i % len(signals)]
        target = phases[(i // len(signals) + 3 * (i % len(signals))) % len(phases)]
        result.append(Plan(i + 1, files[i % len(files)], sig, target,
                           round(rng.uniform(0, LINGER[target]), 2)))
    return result


def describe(outcome: Outcome, total: int) -> str:
    plan = outcome.plan
    status = "clean" if outcome.clean else "LEFT: " + "; ".join(
        f"{kind} {len(items)}" for kind, items in outcome.leftovers.items() if items)
    if outcome.tracebacks:
        status += f", {len(outcome.tracebacks)} traceback(s)"
    if outcome.hung:
        status += ", HUNG after the signal"
    return (f"run {plan.index:>3}/{total} {plan.experiment.name:<28} {plan.signal.name:<7} "
            f"aimed {plan.target}+{plan.linger:.1f}s, in {outcome.phase:<8} exit "
            f"{outcome.exit_code}  {outcome.seconds:5.1f}s  {outcome.ports:>2} ports  {status}")


def table(outcomes: Sequence[Outcome], seconds: float) -> str:
    seen_phases = [p for p in (*PHASES, "start", "finished")
                   if any(o.phase == p for o in outcomes)]
    seen_phases += sorted({o.phase for o in outcomes} - set(seen_phases))
    width = max(len(p) for p in seen_phases) + 1
    lines = [f"soak: {len(outcomes)} runs in {seconds / 60:.1f} min",
             "", "signal x phase covered (runs interrupted in that phase):",
             " " * 9 + "".join(f"{p:>{width}}" for p in seen_phases) + "   total"]
    covered = Counter((o.plan.signal.name, o.phase) for o in outcomes)
    for sig in SIGNALS:
        row = [covered[(sig.name, p)] for p in seen_phases]
        lines.append(f"{sig.name:<9}" + "".join(f"{n:>{width}}" for n in row)
                     + f"   {sum(row):>5}")
    cells = sum(1 for sig in SIGNALS for p in PHASES if covered[(sig.name, p)])
    lines.append(f"cells covered: {cells} of {len(SIGNALS) * len(PHASES)} (signal x phase)")
    lines.append("")
    for sig in SIGNALS:
        codes = Counter(o.exit_code for o in outcomes if o.plan.signal == sig)
        lines.append(f"exit codes after {sig.name}: "
                     + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=str)))
    found_by_marker = sum(1 for o in outcomes for line in o.rollback_lines
                          if f"found by {RUN_ENV}" in line)
    killed = sum(1 for o in outcomes for line in o.rollback_lines if "killed" in line)
    lines.append(f"rollback after SIGKILL: {killed} processes killed, {found_by_marker} of them "
                 f"found only by the {RUN_ENV} marker")
    lines.append("")
    kinds = ["processes", "proxy servers", "listeners", "containers", "state files",
             "rollback failed"]
    total = Counter({kind: sum(len(o.leftovers.get(kind, [])) for o in outcomes)
                     for kind in kinds})
    lines.append("leftovers: " + ", ".join(f"{kind} {total[kind]}" for kind in kinds))
    lines.append(f"runs with leftovers: {sum(1 for o in outcomes if any(o.leftovers.values()))}")
    lines.append(f"tracebacks: {sum(len(o.tracebacks) for o in outcomes)}")
    lines.append(f"hung after SIGINT/SIGTERM: {sum(o.hung for o in outcomes)}")
    lines.append(f"listening ports checked: {sum(o.ports for o in outcomes)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=int, help="how many interrupted runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--platform", choices=("local", "docker"), default="local")
    parser.add_argument("--experiments", nargs="+", type=Path,
                        help="experiment files (default: the shipped experiments/*.yaml)")
    parser.add_argument("--phases", nargs="+", choices=TARGETS, default=list(TARGETS),
                        help="phases to aim at (default: all)")
    parser.add_argument("--signals", nargs="+", choices=[s.name for s in SIGNALS],
                        default=[s.name for s in SIGNALS], help="signals to send (default: all)")
    parser.add_argument("--workdir", type=Path, help="where the runs' folders go (default: a "
                        "new temporary folder, removed at the end if everything was clean)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    experiments = [p.resolve() for p in args.experiments] if args.experiments \
        else shipped_experiments()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="chaoskit-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    todo = plans(args.runs, args.seed, experiments, args.phases,
                 [signal.Signals[name] for name in args.signals])
    print(f"soak: {args.runs} runs of {len(experiments)} experiments, seed {args.seed}, "
          f"platform {args.platform}, work folder {work}", flush=True)
    started = time.monotonic()
    outcomes: list[Outcome] = []
    for plan in todo:
        folder = work / f"run-{plan.index:03d}"
        outcome = soak_one(plan, folder, args.platform)
        outcomes.append(outcome)
        print(describe(outcome, len(todo)), flush=True)
        for kind, items in outcome.leftovers.items():
            for item in items:
                print(f"    left {kind}: {item}", flush=True)
        for text in outcome.tracebacks:
            print("    " + text.replace("\n", "\n    "), flush=True)
        for line in outcome.rollback_lines:
            if f"found by {RUN_ENV}" in line:
                print(f"    rollback: {line.strip()}", flush=True)
        if outcome.clean and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(outcomes, time.monotonic() - started), flush=True)
    failed = not all(o.clean for o in outcomes)
    if not failed and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    elif failed:
        print(f"the folders of the runs that left something are in {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
