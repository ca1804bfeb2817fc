"""The ``chaoskit`` command: a thin shell over the library.

Exit codes (DESIGN.md §4): 0 passed · 1 deviated or aborted · 2 bad input ·
3 not steady before injection · 4 platform/tool error · 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from chaoskit.errors import ChaoskitError, ConfigError
from chaoskit.model.defences import describe_defences
from chaoskit.model.topology import Topology, plan_instances
from chaoskit.platform.registry import PLATFORMS


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ChaoskitError as error:
        print(f"chaoskit: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("chaoskit: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chaoskit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run an experiment (YAML or Python file)")
    run.add_argument("file")
    run.add_argument("--platform", choices=tuple(PLATFORMS), default="local")
    run.add_argument("--proxy", choices=("embedded", "toxiproxy"), default="embedded",
                     help="proxy server carrying the links (network faults)")
    run.add_argument("--disable", action="append", default=[], metavar="DEFENCE",
                     help="switch a defence off (repeatable): one the topology declares "
                          f"(defences:) or a bundled one: {describe_defences()}")
    run.add_argument("--dry-run", action="store_true",
                     help="list what would be hit, inject nothing")
    run.add_argument("--reports", default="reports", help="where run folders are written")
    run.add_argument("--plain", action="store_true", help="plain line output even on a TTY")
    ctk = run.add_argument_group(
        "Chaos Toolkit experiments (.json, or YAML with CTK's keys)",
        "as chaos run's flags; they override the experiment's runtime block")
    ctk.add_argument("--hypothesis-strategy", choices=("default", "before-method-only",
                     "after-method-only", "during-method-only", "continuously"))
    ctk.add_argument("--hypothesis-frequency", type=float, metavar="SECONDS",
                     help="pace of the during-method hypothesis (default 1.0)")
    ctk.add_argument("--fail-fast", action="store_true", default=None,
                     help="fail the run at the first miss of the during-method hypothesis")
    ctk.add_argument("--rollback-strategy", choices=("default", "always", "never", "deviated"))
    ctk.add_argument("--var", action="append", default=None, metavar="KEY[:TYPE]=VALUE",
                     help="replace a configuration value (TYPE: int, float, bytes; repeatable)")
    run.set_defaults(handler=_run)

    validate = sub.add_parser("validate", help="check experiment (or topology) files without "
                                                 "running them")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(handler=_validate)

    importing = sub.add_parser("import", help="convert an experiment of another tool to "
                                             "chaoskit YAML")
    import_sub = importing.add_subparsers(required=True, metavar="FORMAT")
    import_ctk = import_sub.add_parser(
        "ctk", help="a Chaos Toolkit experiment (.json/.yaml): native chaoskit YAML where every "
                    "part has a native form, else the CTK experiment kept as YAML")
    import_ctk.add_argument("file")
    import_ctk.add_argument("--topology", metavar="FILE",
                            help="topology the native experiment names (for process kills)")
    import_ctk.add_argument("-o", "--output", metavar="FILE",
                            help="write the YAML there instead of to standard output")
    import_ctk.set_defaults(handler=_import_ctk)

    schema = sub.add_parser("schema", help="print the JSON Schema of the experiment format")
    schema.set_defaults(handler=_schema)

    rollback = sub.add_parser("rollback", help="stop and revert what a crashed run left behind")
    rollback.set_defaults(handler=_rollback)

    report = sub.add_parser(
        "report", help="judge a journal again; re-render report.html and junit.xml beside it",
        description="Judge a run again from its journal (every reading's value and tolerance "
                    "are stored) and re-render its reports. Exits with the verdict's code.")
    report.add_argument("journal")
    report.add_argument("--against", metavar="EXPERIMENT",
                        help="judge the readings against this experiment file's steady-state "
                             "tolerances (matched by probe name); writes no file")
    report.set_defaults(handler=_report)

    gameday = sub.add_parser("gameday", help="run a GameDay: experiments in order, one report")
    gameday.add_argument("file")
    gameday.add_argument("--platform", choices=tuple(PLATFORMS), default="local")
    gameday.add_argument("--proxy", choices=("embedded", "toxiproxy"), default="embedded",
                         help="proxy server carrying the links (network faults)")
    gameday.add_argument("--reports", default="reports",
                         help="where the GameDay's folder (its report and every run) goes")
    gameday.add_argument("--yes", action="store_true",
                         help="do not wait at checkpoints (never waits without a terminal)")
    gameday.add_argument("--quiet", action="store_true",
                         help="no live output of each run, only the GameDay's own lines")
    gameday.set_defaults(handler=_gameday)

    monkey = sub.add_parser("monkey", help="Chaos Monkey as a service: kills on a schedule, "
                                           "a kill log, /metrics")
    from chaoskit.monkey.commands import add_arguments

    add_arguments(monkey)
    monkey.set_defaults(handler=_monkey)

    proxy = sub.add_parser("proxy", help="the embedded Toxiproxy-compatible server")
    proxy_sub = proxy.add_subparsers(required=True, metavar="ACTION")
    serve = proxy_sub.add_parser("serve", help="serve the Toxiproxy HTTP API (drop-in server)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address the API listens on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8474,
                       help="API port (default 8474, as toxiproxy-server)")
    serve.set_defaults(handler=_proxy_serve)
    return parser


def _run(args: argparse.Namespace) -> int:
    from chaoskit.ctk import is_ctk_file

    if is_ctk_file(args.file):
        return _run_ctk(args)
    ctk_flags = [f"--{name.replace('_', '-')}" for name in _CTK_FLAGS
                 if getattr(args, name) is not None]
    if ctk_flags:
        raise ConfigError(f"{', '.join(ctk_flags)}: for Chaos Toolkit experiments only",
                          file=args.file)
    from chaoskit.loader import load_experiment
    from chaoskit.runner import RunOptions, run_experiment

    experiment = load_experiment(args.file)
    options = RunOptions(platform=args.platform, proxy=args.proxy,
                         disabled=frozenset(args.disable), reports_dir=Path(args.reports),
                         dry_run=args.dry_run, plain=args.plain or None)
    result = run_experiment(experiment, options)
    return result.exit_code


_CTK_FLAGS = ("hypothesis_strategy", "hypothesis_frequency", "fail_fast", "rollback_strategy",
              "var")


def _run_ctk(args: argparse.Namespace) -> int:
    """A Chaos Toolkit experiment, run by chaoskit's CTK engine (chaoskit.ctk)."""
    from chaoskit.ctk import load_ctk
    from chaoskit.ctk.configuration import parse_var
    from chaoskit.ctk.engine import CtkRunOptions, run_ctk

    experiment = load_ctk(args.file)
    options = CtkRunOptions(
        reports_dir=Path(args.reports), hypothesis_strategy=args.hypothesis_strategy,
        hypothesis_frequency=args.hypothesis_frequency, fail_fast=args.fail_fast,
        rollback_strategy=args.rollback_strategy,
        variables=tuple(parse_var(v) for v in args.var or ()))
    if args.hypothesis_frequency is not None and args.hypothesis_frequency <= 0:
        raise ConfigError("--hypothesis-frequency: expected seconds greater than 0")
    if args.dry_run or args.disable or args.platform != "local" or args.proxy != "embedded":
        raise ConfigError("--dry-run, --disable, --platform and --proxy are for chaoskit "
                          "experiments; a Chaos Toolkit experiment runs its own activities",
                          file=args.file)
    result = run_ctk(experiment, options)
    if result.run_dir is not None:
        print(f"reports: {result.run_dir}")
    return result.exit_code


def _import_ctk(args: argparse.Namespace) -> int:
    # Imported here: the importer is its own module, loaded only for this command.
    from chaoskit.ctk.importer import import_ctk

    text = import_ctk(Path(args.file), topology=args.topology)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from chaoskit.ctk import is_ctk_file
    from chaoskit.ctk.engine import check_ctk
    from chaoskit.loader import load_file

    failed = 0
    for file in args.files:
        try:
            if is_ctk_file(file):
                ignored = check_ctk(file)
                print(f"{file}: ok (Chaos Toolkit experiment; {ignored} ignored)")
                continue
            loaded = load_file(file)
        except ConfigError as error:
            print(f"chaoskit: {error}", file=sys.stderr)
            failed += 1
            continue
        if isinstance(loaded, Topology):
            print(f"{file}: ok (topology {loaded.name}, {len(plan_instances(loaded))} instances)")
        else:
            print(f"{file}: ok ({loaded.title})")
    return 2 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    from chaoskit.loader import experiment_json_schema

    print(json.dumps(experiment_json_schema(), indent=2))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from chaoskit.state import rollback

    for line in asyncio.run(rollback()):
        print(line)
    return 0


def _report(args: argparse.Namespace) -> int:
    from chaoskit.loader import load_experiment
    from chaoskit.report import read_journal, render_reports
    from chaoskit.report.rejudge import rejudge

    path = Path(args.journal)
    from chaoskit.ctk.journal import is_ctk_journal

    if is_ctk_journal(path):
        return _report_ctk(path, args)
    recorded = read_journal(path)
    against = load_experiment(args.against) if args.against else None
    journal = rejudge(recorded, against)
    if against is None:
        for written in render_reports(path, journal):
            print(written)
    judgement = journal.judgement
    note = ""
    if against is not None:
        note = f" against {args.against}"
    if judgement.verdict != recorded.judgement.verdict:
        note += f" (recorded: {recorded.judgement.verdict.value})"
    print(f"verdict: {judgement.verdict.value}{note}")
    for reason in judgement.reasons:
        print(f"  - {reason}")
    return judgement.verdict.exit_code


def _report_ctk(path: Path, args: argparse.Namespace) -> int:
    """A CTK run's journal: its report.html and junit.xml rendered again; the verdict is the
    one recorded (CTK's judgement is not re-made from a journal)."""
    from chaoskit.ctk.journal import read_ctk_journal
    from chaoskit.ctk.report import write_reports

    if args.against:
        raise ConfigError("--against re-judges chaoskit experiments' readings; a Chaos Toolkit "
                          "run's journal is rendered again as recorded", file=str(path))
    journal = read_ctk_journal(path)
    for written in write_reports(path.parent, journal):
        print(written)
    print(f"verdict: {journal.chaoskit.verdict}")
    for reason in journal.chaoskit.reasons:
        print(f"  - {reason}")
    return journal.chaoskit.exit_code


def _gameday(args: argparse.Namespace) -> int:
    from chaoskit.gameday import load_gameday, run_gameday

    result = run_gameday(load_gameday(args.file), platform=args.platform, proxy=args.proxy,
                         reports_dir=Path(args.reports), assume_yes=args.yes,
                         quiet=args.quiet)
    return result.exit_code


def _monkey(args: argparse.Namespace) -> int:
    from chaoskit.monkey.commands import main as monkey_main

    return monkey_main(args)


def _proxy_serve(args: argparse.Namespace) -> int:
    from chaoskit.proxy.server import serve

    serve(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
