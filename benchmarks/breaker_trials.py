"""How long payments stays cut off after a restart, by the gateway breaker's half-open trials.

``python -m benchmarks.breaker_trials [--runs N] [--trials 3 10] [--kills K] [--hog]
[--workdir DIR] [--keep]``

The Stripe experiments kill payments while the links in front of it reset 50 % and
swallow 10 % of new connections. The gateway's breaker, tripped by the kill, then has to
find payments again through that lossy path: in half-open it lets one probe at a time
through, and reopens for ``reset_timeout`` (2 s) after ``trials`` failed probes in a row.
Every payment in the meantime is refused, so the seconds from payments being back to the
first paid payment are the defence's own cost, and its tail is what decides a compared
Stripe run's guardrail and steady state.

One run per trials value (``PAYMENTS_TRIALS`` in the gateway's ``env:``, the values taken
in turn, ``--runs`` times) is ``chaoskit run`` of one experiment on
``targets/netflix_small.yaml``: the two link faults of ``experiments/stripe_retries.yaml``
for the whole run and ``--kills`` SIGKILLs of payments 10 s apart, under the same
Locust load (``targets/load/payments.py``). From each run's journal, per kill: seconds
from payments ``up`` to the first load second with a paid payment (0 when payments came
back within a second that also paid), and the longest streak of seconds without one
after the kill (the reading that trips a guardrail). With ``--hog`` everything runs beside
``stress-ng`` on every core (see :func:`benchmarks.chap.cpu_hog`), as a busy CI machine.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.chap import ROOT, RUN_TIMEOUT, Started, cpu_hog, work_folder

TOPOLOGY = ROOT / "targets" / "netflix_small.yaml"
SPACING = 10
"""Seconds between kills: restart (1 s delay, 1-2 s start) plus the breaker's recovery."""


def topology(trials: int, folder: Path) -> Path:
    data: dict[str, Any] = yaml.safe_load(TOPOLOGY.read_text())
    data["workdir"] = str(ROOT)
    gateway = next(s for s in data["services"] if s["name"] == "gateway")
    gateway["env"] = {**gateway.get("env", {}), "PAYMENTS_TRIALS": str(trials)}
    path = folder / f"topology-{trials}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def experiment(trials: int, kills: int, folder: Path) -> Path:
    span = f"{SPACING * kills + 6}s"
    data = {
        "title": f"payments found again through a lossy link ({trials} half-open trials)",
        "topology": str(topology(trials, folder)),
        "load": {"locustfile": str(ROOT / "targets" / "load" / "payments.py"),
                 "users": 10, "spawn_rate": 10},
        "steady_state": [{"name": "payments go through", "probe": "load.success_ratio",
                          "request": "payment", "window": "5s", "tolerance": {"min": 0}}],
        "method": [
            {"fault": "reset_peer", "service": "payments", "direction": "downstream",
             "toxicity": 0.5, "duration": span},
            {"fault": "timeout", "service": "payments", "direction": "downstream",
             "timeout": 0, "toxicity": 0.1, "duration": span},
            *({"fault": "instance_kill", "service": "payments", "after": f"{3 + SPACING * k}s",
               "duration": f"{SPACING - 1}s", "label": f"kill {k + 1}"} for k in range(kills)),
        ],
        "settings": {"seed": 7, "warmup": "2s", "recover_within": "30s"},
    }
    path = folder / f"kills-{trials}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Recovery:
    """Per kill: seconds from payments up to the first paid second; the longest unpaid streak."""

    waits: list[float] = field(default_factory=list)
    streaks: list[int] = field(default_factory=list)

    def add_journal(self, journal: dict[str, Any]) -> None:
        events = journal["history"]["events"]
        paid = {e["second"]: e["by_name"].get("payment", {}).get("good", 0)
                for e in events if e["type"] == "load"}
        changes = [(e["t"], e["state"]) for e in events if e["type"] == "instance"]
        for index, (down, state) in enumerate(changes):
            if state != "down":
                continue
            up = next((t for t, s in changes[index:] if s == "up"), None)
            first = None if up is None else next(
                (s for s in range(int(up), int(up) + 20) if paid.get(s, 0) > 0), None)
            if up is None or first is None:
                continue
            self.waits.append(max(0.0, first - up))
            second, streak, longest = int(down), 0, 0
            while second < int(down) + SPACING:
                streak = streak + 1 if paid.get(second, 0) == 0 else 0
                longest = max(longest, streak)
                second += 1
            self.streaks.append(longest)

    def line(self, trials: int) -> str:
        if not self.waits:
            return f"{trials:>6}  no kill measured"
        waits = sorted(self.waits)
        p90 = waits[min(len(waits) - 1, int(0.9 * len(waits)))]
        over = sum(s >= 5 for s in self.streaks)
        return (f"{trials:>6}  {len(waits):>5}  {statistics.median(waits):>6.1f}  {p90:>5.1f}  "
                f"{max(waits):>5.1f}  {over:>3}/{len(self.streaks):<3} "
                f"{' '.join(map(str, sorted(self.streaks)))}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breaker_trials",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="runs per trials value")
    parser.add_argument("--trials", type=int, nargs="+", default=[3, 10],
                        help="PAYMENTS_TRIALS values to compare (default: 3 10)")
    parser.add_argument("--kills", type=int, default=10, help="payments kills per run")
    parser.add_argument("--hog", action="store_true", help="beside a CPU hog on every core")
    parser.add_argument("--workdir", type=Path, help="where runs write (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {n: Recovery() for n in args.trials}
    with work_folder(args.workdir, args.keep, "chaoskit-trials-") as work, \
            cpu_hog(args.hog) as machine:
        files = {n: experiment(n, args.kills, work) for n in args.trials}
        print(f"work folder {work}; {machine}", flush=True)
        for run in range(args.runs):
            for trials, file in files.items():  # in turn, so drift hits every value
                done = Started(file, work / f"run-{run + 1}-{trials}", (), {}).finish(
                    time.monotonic() + RUN_TIMEOUT + SPACING * args.kills)
                if done.journal is not None:
                    results[trials].add_journal(done.journal)
                print(f"run {run + 1}: trials {trials}: {len(results[trials].waits)} "
                      "kills so far", flush=True)
        print("\ntrials  kills  median    p90    max  >=5s unpaid  longest unpaid streak per kill"
              "\n        (seconds from payments up to the first paid second)")
        for trials in args.trials:
            print(results[trials].line(trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
