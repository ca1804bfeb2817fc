"""``chaoskit monkey``: run a monkey, print its schedule, print its kill log."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from chaoskit.errors import ConfigError

if TYPE_CHECKING:
    from chaoskit.monkey.calendar import Calendar

ACTIONS = ("run", "schedule", "log")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", metavar="FILE | schedule FILE | log [FILE]",
                        help="a monkey file to run; 'schedule FILE' prints the kills it would "
                             "make; 'log' prints the kill log")
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help="the schedule's seed (default: the file's)")
    parser.add_argument("--days", type=float,
                        help="schedule: days to plan (default 30); run: stop after this many "
                             "days on the monkey's clock (default: until SIGINT/SIGTERM)")
    parser.add_argument("--start", help="schedule: first day (YYYY-MM-DD, default today); run: "
                                        "the monkey clock's first instant (ISO 8601, default now)")
    parser.add_argument("--json", action="store_true",
                        help="schedule, log: one JSON object per line")
    parser.add_argument("--all", action="store_true",
                        help="schedule: also the planned kills an exception will skip")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="N",
                        help="run N monkey-seconds per real second (3600: an hour per second)")
    parser.add_argument("--log", dest="kill_log", metavar="PATH",
                        help="the SQLite kill log (default: the file's kill_log, else "
                             "monkey.sqlite3 in the state dir)")
    parser.add_argument("--metrics-port", type=int, default=0,
                        help="port of /metrics on 127.0.0.1 (default: any free one, printed)")
    parser.add_argument("--reports", default="reports", help="where the run folder goes")
    parser.add_argument("--platform", choices=("local", "docker"), default="local")


def main(args: argparse.Namespace) -> int:
    action, file = args.action, args.file
    if action not in ACTIONS:
        action, file = "run", action
        if args.file is not None:
            raise ConfigError(f"unexpected argument {args.file!r}", field="monkey")
    if action == "log":
        return _log(args, file)
    if file is None:
        raise ConfigError(f"monkey {action}: name the monkey file", field="monkey")
    if action == "schedule":
        return _schedule(args, file)
    return _run(args, file)


def _schedule(args: argparse.Namespace, file: str) -> int:
    from chaoskit.monkey.calendar import Calendar
    from chaoskit.monkey.loader import load_monkey
    from chaoskit.monkey.schedule import plan

    config = load_monkey(file)
    calendar = Calendar(config.schedule)
    start = _date(args.start) if args.start else dt.datetime.now(calendar.tz).date()
    days = int(args.days if args.days is not None else 30)
    seed = config.seed if args.seed is None else args.seed
    for kill in plan(config, seed, start, days):
        if kill.target is None and not args.all:
            continue
        if args.json:
            print(json.dumps(kill.as_json()))
        else:
            print(f"{kill.time.isoformat()}  {kill.group:<28} {kill.target or '- (exception)'}")
    return 0


def _log(args: argparse.Namespace, file: str | None) -> int:
    from chaoskit.monkey.killlog import KillLog
    from chaoskit.monkey.loader import load_monkey
    from chaoskit.monkey.service import default_log_path

    config = load_monkey(file) if file else None
    path = Path(args.kill_log) if args.kill_log else (
        Path(config.kill_log) if config and config.kill_log else default_log_path())
    if not path.exists():
        raise ConfigError(f"no kill log at {path}", field="--log")
    for decision in KillLog(path).decisions(config.title if config else None):
        if args.json:
            print(json.dumps({"monkey": decision.monkey, "group": decision.group,
                              "planned": decision.planned, "decided_at": dt.datetime
                              .fromtimestamp(decision.decided_at, dt.UTC).isoformat(),
                              "target": decision.target, "decision": decision.decision,
                              "reason": decision.reason, "detail": decision.detail,
                              "run": decision.run}))
        else:
            print(f"{decision.line}" if config else f"[{decision.monkey}] {decision.line}")
    return 0


def _run(args: argparse.Namespace, file: str) -> int:
    from chaoskit.monkey.calendar import Calendar
    from chaoskit.monkey.loader import load_monkey
    from chaoskit.monkey.service import MonkeyOptions, run_monkey

    config = load_monkey(file)
    calendar = Calendar(config.schedule)
    start = _instant(args.start, calendar) if args.start else None
    if args.time_scale <= 0:
        raise ConfigError("must be positive", field="--time-scale")
    result = run_monkey(config, MonkeyOptions(
        seed=args.seed, time_scale=args.time_scale, start=start, days=args.days,
        log_path=Path(args.kill_log) if args.kill_log else None,
        metrics_port=args.metrics_port, reports_dir=Path(args.reports), platform=args.platform))
    kills = len(result.kills)
    skipped = len(result.decisions) - kills
    print(f"monkey stopped{f' ({result.interrupted})' if result.interrupted else ''}: "
          f"{kills} killed, {skipped} skipped; report {result.report}")
    return 130 if result.interrupted else 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"expected a date YYYY-MM-DD, got {text!r}", field="--start") from None


def _instant(text: str, calendar: Calendar) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"expected an ISO 8601 time (2026-12-07T09:00-08:00), got {text!r}",
                          field="--start") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=calendar.tz)
    return when.timestamp()
