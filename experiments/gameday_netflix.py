"""The Netflix GameDay as a Python script: the same exercise as gameday_netflix.yaml.

    .venv/bin/python experiments/gameday_netflix.py            # checkpoints wait on a terminal
    .venv/bin/python experiments/gameday_netflix.py --yes      # never waits
    .venv/bin/python experiments/gameday_netflix.py --rehearsal --only monkey gorilla

A script is worth it when the plan is computed: here ``--only`` picks steps,
``--rehearsal`` shortens every experiment's warm-up and recovery budget for a
dry rehearsal before the real day, and the blast radius grows step by step
with a checkpoint before each larger one. The exit code is the GameDay's:
0 if every experiment passed, else the worst verdict's (1 deviated/aborted ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chaoskit.errors import ChaoskitError
from chaoskit.gameday import GameDay, Step, run_gameday

HERE = Path(__file__).resolve().parent

# (key, name, experiment file, what the room should watch before it starts)
SIMIAN_ARMY = (
    ("monkey", "Chaos Monkey — one playback instance killed", "netflix_instance.yaml",
     "One playback instance will be SIGKILLed and replaced."),
    ("latency", "Latency Monkey — one zone's playback 2 s slow", "netflix_latency.yaml",
     "Calls to playback in us-east-1a will wait two seconds: watch p99."),
    ("gorilla", "Chaos Gorilla — availability zone us-east-1a lost", "netflix_az.yaml",
     "A whole zone goes: the gateways' retries must move stream starts elsewhere."),
    ("kong", "Chaos Kong — region us-east evacuated", "netflix_region.yaml",
     "us-east fails and the edge evacuates it to eu-west: watch the edge's counters."),
)

REHEARSAL = {"warmup": "2s", "recover_within": "20s"}


def build(only: set[str], rehearsal: bool) -> GameDay:
    steps = [Step(name="Ready?", checkpoint=(
        "Dashboards open, on-call told, abort known (Ctrl-C reverts every fault).")),
    ]
    for key, name, file, watch in SIMIAN_ARMY:
        if only and key not in only:
            continue
        if len(steps) > 1:
            steps += [Step(pause="5s"), Step(name=f"Before {key}", checkpoint=watch)]
        steps.append(Step(name=name, experiment=str(HERE / file),
                          settings=REHEARSAL if rehearsal else {}))
    return GameDay(title="Netflix GameDay (script)" + (" — rehearsal" if rehearsal else ""),
                   on_failure="stop", steps=tuple(steps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=[], choices=[k for k, *_ in SIMIAN_ARMY])
    parser.add_argument("--rehearsal", action="store_true",
                        help="shorter warm-up and recovery budget for every experiment")
    parser.add_argument("--platform", choices=("local", "docker"), default="local")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--yes", action="store_true", help="do not wait at checkpoints")
    args = parser.parse_args(argv)
    try:
        result = run_gameday(build(set(args.only), args.rehearsal), platform=args.platform,
                             reports_dir=Path(args.reports), assume_yes=args.yes)
    except ChaoskitError as error:
        print(f"gameday: {error}", file=sys.stderr)
        return error.exit_code
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
