"""Load benchmark: one Locust process vs Locust's master and workers (``load.workers``).

``python -m benchmarks.load [--seconds S] [--rounds R] [--users U] [--workers N]``
measures, on 127.0.0.1 only, in about a minute and a half by default:

* requests per second that one Locust process sends to the bundled platform
  (``targets/netflix_small.yaml``, started by the benchmark; the load goes to its
  entry point, the gateway, ``GET /play/{title}`` as ``targets/load/streaming.py``
  sends it) and what a master with ``--workers`` workers sends, with users that
  never wait, so each form sends as much as it can;
* the sample latency: how long after a second ends its sample reaches the driver
  (one Locust: its own stream; workers: the merge of every worker's stream);
* the CPU the Locust processes used meanwhile, in cores: near 1.0 for one Locust means
  Locust was the limit, well under it means the system under test (or the machine) was.

The forms alternate (one, workers, one, workers ...: ``--rounds`` each), so both
see the same machine, which others may share: the load average is printed beside
the figures. Each round measures ``--seconds`` whole seconds after two seconds of
ramp-up. The platform runs on the same cores as the load: on a small machine the
workers and the system under test compete for them, and the gain shows where the
single Locust, not the system, was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.load.driver import LoadDriver
from chaoskit.loader import load_topology
from chaoskit.model.experiment import LoadSpec
from chaoskit.model.history import LoadSample
from chaoskit.testing import ChaosSystem

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = ROOT / "targets" / "netflix_small.yaml"
RAMP_UP = 2
"""Seconds after the first whole one that are not measured: users still connecting."""

_LOCUSTFILE = '''\
"""Viewers pressing play without pause: as many requests as one Locust process can send."""
from locust import FastHttpUser, constant, task


class Viewer(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 5.0

    @task
    def play(self) -> None:
        self.client.get("/play/dark", name="play",
                        headers={"X-Priority": "critical", "X-User-Id": "viewer-0"})
'''


@dataclass
class Form:
    """One way of running the load, and what its rounds measured."""

    name: str
    workers: int | None
    rps: list[float] = field(default_factory=list)
    failures: int = 0
    requests: int = 0
    latency_ms: list[float] = field(default_factory=list)
    late: int = 0
    cores: list[float] = field(default_factory=list)
    """CPU the Locust processes used over each round's measured seconds, in cores."""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far (from /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def one_round(form: Form, host: str, locustfile: Path, run_dir: Path, users: int,
                    seconds: int) -> None:
    arrivals: list[tuple[float, LoadSample]] = []
    driver = LoadDriver()
    spec = LoadSpec(locustfile=str(locustfile), users=users, spawn_rate=users,
                    workers=form.workers)
    try:
        await driver.start(spec, host=host, run_dir=run_dir, max_duration=seconds + 60,
                           on_sample=lambda s: arrivals.append((time.time(), s)))
        first = await driver.wait_first_sample(timeout=30)
        begin = first.second + 1 + RAMP_UP
        wanted = begin + seconds
        deadline = time.monotonic() + seconds + RAMP_UP + 30
        cpu: list[tuple[float, float]] = []
        while not any(s.second >= wanted for _, s in arrivals):
            if not driver.running or time.monotonic() > deadline:
                raise RuntimeError(f"{form.name}: the load ended early: {driver.error}")
            if not cpu and time.time() >= begin:
                cpu.append((time.time(), cpu_seconds(driver.pids)))
            await asyncio.sleep(0.05)
        cpu.append((time.time(), cpu_seconds(driver.pids)))
    finally:
        await driver.stop()
    measured = [(at, s) for at, s in arrivals
                if first.second + 1 + RAMP_UP <= s.second < wanted]
    form.rps.append(sum(s.total.requests for _, s in measured) / len(measured))
    form.requests += sum(s.total.requests for _, s in measured)
    form.failures += sum(s.total.failures for _, s in measured)
    form.latency_ms += [(at - (s.second + 1)) * 1000 for at, s in measured]
    form.late += driver.late_samples
    (start, used_before), (end, used_after) = cpu[0], cpu[-1]
    form.cores.append((used_after - used_before) / (end - start))


def report(forms: list[Form], users: int) -> str:
    cores = os.cpu_count()
    load1, load5, _ = os.getloadavg()
    lines = [
        f"machine: {cores} cores, load average {load1:.1f} (1 min) {load5:.1f} (5 min); "
        f"{users} users that never wait, against netflix_small's gateway (GET /play)",
        f"{'form':<22}{'req/s (per round)':<22}{'mean':>6}{'fail %':>8}{'Locust CPU':>12}"
        f"{'sample latency p50':>20}{'p95':>7}{'max':>7}  ms",
    ]
    for form in forms:
        rounds = " ".join(f"{r:.0f}" for r in form.rps)
        lat = sorted(form.latency_ms)
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        fail = 100 * form.failures / form.requests if form.requests else 0.0
        cores = f"{statistics.mean(form.cores):.2f} cores"
        lines.append(f"{form.name:<22}{rounds:<22}{statistics.mean(form.rps):>6.0f}"
                     f"{fail:>8.2f}{cores:>12}{statistics.median(lat):>20.1f}{p95:>7.1f}"
                     f"{lat[-1]:>7.1f}")
    single, *others = forms
    for other in others:
        ratio = statistics.mean(other.rps) / statistics.mean(single.rps)
        lines.append(f"{other.name} / {single.name}: {ratio:.2f}x requests per second"
                     + (f"; {other.late} worker samples merged late" if other.late else ""))
    return "\n".join(lines)


async def measure(host: str, work: Path, args: argparse.Namespace) -> list[Form]:
    locustfile = work / "locustfile_bench.py"
    locustfile.write_text(_LOCUSTFILE)
    forms = [Form("one Locust", None), Form(f"master + {args.workers} workers", args.workers)]
    for index in range(args.rounds):
        for form in forms:
            await one_round(form, host, locustfile, work / f"{index}-{form.workers or 0}",
                            args.users, args.seconds)
            print(f"  round {index + 1}: {form.name}: {form.rps[-1]:.0f} req/s", flush=True)
    return forms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each form")
    parser.add_argument("--users", type=int, default=40, help="Locust users in each form")
    parser.add_argument("--workers", type=int, default=2, help="workers of the distributed form")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chaoskit-bench-load-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("CHAOSKIT_STATE_DIR", str(work / "state"))
        print(f"starting {TOPOLOGY.name} ...", flush=True)
        with ChaosSystem(load_topology(TOPOLOGY), name="bench-load",
                         reports_dir=work / "reports") as system:
            forms = asyncio.run(measure(system.entry_url, work, args))
    print(report(forms, args.users))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
