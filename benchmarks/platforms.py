"""Local vs docker platform, side by side in one run: start, kill-to-replaced, teardown.

``python -m benchmarks.platforms [--rounds N] [--kills K]``

The topology is two regions x three zones x three zonal services plus two
global ones: 20 instances of the stdlib-only tiny service
(``tests/integration/docker/tiny_service.py``), so both platforms run the same
argv. Measured per platform, per round:

- start: ``start()`` of all 20 until every health URL answers (dependencies first);
- kill-to-replaced: ``kill()`` of one instance until it is up again, with
  ``restart.delay`` 0, so the figure is the platform's own overhead (detect the
  death, start again, first healthy answer); K kills per round, one at a time;
- teardown: ``close()``.

Prints medians and docker/local ratios. Needs a Docker engine; the docker
platform says which image strategy it used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chaoskit.model.topology import Topology
from chaoskit.platform.base import InstanceState, Launch, Platform
from chaoskit.platform.deployment import plan_launches
from chaoskit.state import RunState

ROOT = Path(__file__).resolve().parent.parent
SERVICE = str(ROOT / "tests" / "integration" / "docker" / "tiny_service.py")


def topology() -> Topology:
    command = [sys.executable, SERVICE]
    # A chain store <- catalog <- playback in every zone: three start waves.
    zonal: list[dict[str, object]] = [
        {"name": name, "command": command, "restart": {"delay": 0},
         "depends_on": [{"service": upstream, "locality": "zone"}] if upstream else []}
        for name, upstream in (("store", ""), ("catalog", "store"), ("playback", "catalog"))
    ]
    return Topology.model_validate({
        "name": "bench", "entrypoint": "edge", "workdir": str(ROOT),
        "regions": [{"name": "r1", "zones": ["r1a", "r1b", "r1c"]},
                    {"name": "r2", "zones": ["r2a", "r2b", "r2c"]}],
        "services": [*zonal, {"name": "edge", "scope": "global", "replicas": 2,
                              "command": command, "restart": {"delay": 0},
                              "depends_on": [{"service": "playback", "locality": "global"}]}],
    })


def make(kind: str, run_id: str, workdir: Path) -> Platform:
    state = RunState(run_id=run_id)
    if kind == "local":
        from chaoskit.platform.local import LocalPlatform

        return LocalPlatform(state, workdir / "logs")
    from chaoskit.platform.docker import DockerPlatform

    return DockerPlatform(state, run_id, workdir / "logs",
                          say=lambda line: print(f"  [docker] {line}"))


async def until_up(platform: Platform, instance_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = next(s for s in platform.status() if s.instance.id == instance_id)
        if status.state == InstanceState.UP and status.restarts > 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{instance_id} was not replaced within {timeout}s")
        await asyncio.sleep(0.01)


async def one_round(kind: str, launches: list[Launch], workdir: Path, kills: int
                    ) -> dict[str, list[float]]:
    run_id = f"bench-{kind}-{uuid.uuid4().hex[:6]}"
    platform = make(kind, run_id, workdir)
    figures: dict[str, list[float]] = {"start": [], "kill-to-replaced": [], "teardown": []}
    try:
        t = time.perf_counter()
        await platform.start(launches, timeout=120)
        figures["start"].append(time.perf_counter() - t)
        victims = [launch.instance.id for launch in launches][:kills]
        for victim in victims:
            t = time.perf_counter()
            await platform.kill([victim])
            await until_up(platform, victim)
            figures["kill-to-replaced"].append(time.perf_counter() - t)
    finally:
        t = time.perf_counter()
        await platform.close()
        figures["teardown"].append(time.perf_counter() - t)
    return figures


async def main(rounds: int, kills: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chaoskit-bench-") as tmp:
        os.environ.setdefault("CHAOSKIT_STATE_DIR", str(Path(tmp) / "state"))
        results: dict[str, dict[str, list[float]]] = {}
        topo = topology()
        for kind in ("local", "docker"):
            results[kind] = {"start": [], "kill-to-replaced": [], "teardown": []}
        for r in range(rounds):
            # Interleaved, so drift on the machine hits both alike.
            for kind in ("local", "docker"):
                workdir = Path(tmp) / f"{kind}-{r}"
                launches = plan_launches(topo, base_dir=str(ROOT), data_dir=workdir / "data")
                figures = await one_round(kind, launches, workdir, kills)
                for key, values in figures.items():
                    results[kind][key] += values
        count = len(plan_launches(topo, base_dir=str(ROOT), data_dir=Path(tmp) / "count"))
        print(f"\n{count} instances, {rounds} rounds, {kills} kills per round "
              f"(restart.delay 0); medians in seconds")
        median: Callable[[list[float]], float] = statistics.median
        print(f"{'':18}{'local':>10}{'docker':>10}{'docker/local':>14}")
        for key in ("start", "kill-to-replaced", "teardown"):
            loc, dock = median(results["local"][key]), median(results["docker"][key])
            print(f"{key:18}{loc:10.3f}{dock:10.3f}{dock / loc:14.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.kills))
