"""Chaos Gorilla across two real, separate Docker engines, through the CLI.

``examples/two-engines`` maps us-east-1a (playback's instance there and the region's
one-replica services) to the second engine and every other zone to the default one.
The run is watched from outside, engine by engine, by its ``chaoskit.run`` label: the
lost zone's containers die on engine 2 and come back, engine 1's keep running. A
zone outage of us-east-1b on engine 1 before it times kill and restore on that engine
the same way, and a platform-level test repeats one container's kill and restore on
each engine; ``-s`` prints the figures. The second engine comes from the
``second_engine`` fixture (``.ci/second-dockerd.sh``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docker_topology import topology_dict

from chaoskit.model.topology import Topology
from chaoskit.platform.deployment import plan_launches
from chaoskit.platform.docker import DockerPlatform
from chaoskit.state import RunState
from tests.integration.runner.conftest import (
    Chaoskit,
    Finished,
    processes_mentioning,
    wait_for_line,
)

docker = pytest.importorskip("docker")

pytestmark = [pytest.mark.integration, pytest.mark.docker,
              # Generous: ~35 s alone, over 2 min on two cores shared with other suites.
              pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "two-engines"
LOST = "us-east-1a"
"""The zone on the second engine."""
ON_SECOND = {"playback-us-east-1a-0", "ratings-us-east-0", "recommendations-us-east-0",
             "payments-us-east-0"}
ON_FIRST = {"playback-us-east-1b-0", "playback-us-east-1c-0", "gateway-global-0"}


@pytest.fixture
def engines(second_engine: str) -> Iterator[dict[str, Any]]:
    """Clients of both engines, by the names the tests use: ``first`` and ``second``."""
    clients = {"first": docker.from_env(timeout=30),
               "second": docker.DockerClient(base_url=second_engine, timeout=30)}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def chaoskit(tmp_path: Path, engines: dict[str, Any]) -> Iterator[Chaoskit]:
    """The CLI; after a failed test (a runner killed mid-run), nothing of it is left."""
    tool = Chaoskit(tmp_path)
    yield tool
    for line in processes_mentioning(str(tmp_path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    runs = [p.name for p in tool.reports.iterdir()] if tool.reports.exists() else []
    for client in engines.values():
        for run in runs:
            for container in client.containers.list(
                    all=True, filters={"label": f"chaoskit.run={run}"}):
                container.remove(force=True, v=True)


def two_engine_experiment(tmp: Path, second_engine: str, method: str) -> Path:
    """The example's topology and Gorilla, pointed at ``second_engine``, with less time.

    The topology is the committed one with its paths made absolute and its us-east-1a
    engine replaced by the fixture's (the same URL in CI)."""
    topology = yaml.safe_load((EXAMPLE / "topology.yaml").read_text())
    assert topology["docker"]["engines"] == {LOST: "unix:///run/chaoskit/docker2.sock"}
    topology["workdir"] = str(ROOT)
    topology["docker"]["engines"] = {LOST: second_engine}
    (tmp / "topology.yaml").write_text(yaml.safe_dump(topology, sort_keys=False))
    experiment = yaml.safe_load((EXAMPLE / "experiments" / "gorilla.yaml").read_text())
    assert experiment["method"][0]["zone"] == LOST
    experiment.update(
        topology=str(tmp / "topology.yaml"),
        load={**experiment["load"], "locustfile": str(ROOT / "targets/load/streaming.py")},
        steady_state=[{**probe, "window": "5s"} for probe in experiment["steady_state"]],
        method=yaml.safe_load(method),
        settings={"seed": 7, "warmup": "2s", "recover_within": "15s"},
    )
    path = tmp / "gorilla.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def run_id_of(tool: Chaoskit) -> str:
    """The run's id: its report folder's name, which is also its ``chaoskit.run`` label."""
    (folder,) = [p for p in tool.reports.iterdir() if p.is_dir()]
    return folder.name


def labelled(client: Any, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's containers on one engine: instance id → {id, status, started, exit}."""
    found = {}
    for container in client.containers.list(all=True, filters={"label": f"chaoskit.run={run_id}"}):
        state = container.attrs["State"]
        found[container.labels["chaoskit.instance"]] = {
            "id": container.id, "status": state["Status"], "started": state["StartedAt"],
            "exit": state["ExitCode"]}
    return found


def statuses(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: c["status"] for name, c in found.items()}


MIRROR = "us-east-1b"
"""A zone on engine 1, lost first (one container, back in seconds) to time that engine."""
METHOD = (f"- {{fault: zone_outage, zone: {MIRROR}, mode: terminate, duration: 6s}}\n"
          # The Gorilla proper comes last, once the mirror's zone is back: restoring even
          # one Python service took 6 s on two cores shared with other suites.
          f"- {{fault: zone_outage, zone: {LOST}, mode: terminate, after: 16s, duration: 8s}}\n")


def test_gorilla_loses_the_zone_on_engine_2_while_engine_1_serves(
        chaoskit: Chaoskit, engines: dict[str, Any], second_engine: str) -> None:
    path = two_engine_experiment(chaoskit.tmp, second_engine, METHOD)
    mirror = f"playback-{MIRROR}-0"
    process = chaoskit.start("run", str(path), "--platform", "docker")
    try:
        wait_for_line(process, "phase  baseline", timeout=90)
        run_id = run_id_of(chaoskit)
        before = {name: labelled(client, run_id) for name, client in engines.items()}
        # Containers on both engines, each zone where the topology puts it.
        assert statuses(before["second"]) == dict.fromkeys(ON_SECOND, "running")
        assert statuses(before["first"]) == dict.fromkeys(ON_FIRST, "running")

        wait_for_line(process, f"zone_outage {MIRROR} (terminate): inject effective",
                      timeout=60)
        first = labelled(engines["first"], run_id)
        assert (first[mirror]["status"], first[mirror]["exit"]) == ("exited", 137)
        assert {n: c for n, c in first.items() if n != mirror} == \
            {n: c for n, c in before["first"].items() if n != mirror}
        assert labelled(engines["second"], run_id) == before["second"]

        wait_for_line(process, f"zone_outage {LOST} (terminate): inject effective", timeout=60)
        lost = labelled(engines["second"], run_id)
        assert statuses(lost) == dict.fromkeys(ON_SECOND, "exited"), "the zone is down"
        assert {c["exit"] for c in lost.values()} == {137}, "each one SIGKILLed"
        serving = labelled(engines["first"], run_id)
        assert statuses(serving) == dict.fromkeys(ON_FIRST, "running")

        wait_for_line(process, f"zone_outage {LOST} (terminate): revert effective", timeout=60)
        back = labelled(engines["second"], run_id)
        # Restored as the same containers (same ids, logs and data), started again.
        assert statuses(back) == dict.fromkeys(ON_SECOND, "running")
        assert {n: c["id"] for n, c in back.items()} == \
            {n: c["id"] for n, c in before["second"].items()}
        assert all(back[n]["started"] != before["second"][n]["started"] for n in ON_SECOND)
        assert labelled(engines["first"], run_id) == serving, \
            "engine 1 kept serving through engine 2's outage, untouched"
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    done = Finished(process.returncode, output, chaoskit.last_run_dir())

    assert done.code == 0, output[-3000:]
    assert done.journal["judgement"]["verdict"] == "passed"
    during = [e for e in done.events("probe") if e["phase"] == "observe"]
    assert during and all(e["ok"] for e in during), "the survivors kept the steady state"
    outage = {e["step"]: e for e in done.events("fault") if e["fault"] == "f1"}
    assert set(outage["inject_effective"]["targets"]) == ON_SECOND
    changed = {e["instance"] for e in done.events("instance")
               if outage["inject_called"]["t"] <= e["t"] <= outage["revert_effective"]["t"]}
    # (The mirror's own "up" may be sampled just after the Gorilla began.)
    assert changed - {mirror} == ON_SECOND, "only the lost zone changed state in its outage"
    for client in engines.values():
        assert labelled(client, run_id) == {}, "nothing labelled is left on either engine"
    chaoskit.assert_nothing_left()
    # One runtime for every zone: the same image, held by each engine.
    assert done.run_dir is not None
    notes = (done.run_dir / "logs" / "docker-platform.log").read_text()
    refs = {engine: re.search(rf"docker engine {re.escape(engine)}: image (\S+)", notes)
            for engine in ("default", second_engine)}
    assert all(refs.values()), notes
    (ref,) = {found.group(1) for found in refs.values() if found}
    for client in engines.values():
        assert client.images.get(ref)
    report_timings(done, {"f1": "engine 2 (second)", "f0": "engine 1 (default)"})


def report_timings(done: Finished, engine_of: dict[str, str]) -> None:
    """Kill and restore times per engine, from the journal, for the ``-s`` output.

    kill: inject called → effective (every container confirmed dead by its engine);
    restore: revert called → effective (every container started and healthy again).
    The instances' state changes (sampled every 0.5 s) confirm both: when the first
    ``down`` and the last ``up`` of the fault's targets were seen."""
    events = done.journal["history"]["events"]
    print()
    for fault, engine in engine_of.items():
        steps = {e["step"]: e for e in events if e["type"] == "fault" and e["fault"] == fault}
        targets = set(steps["inject_effective"]["targets"])
        called, reverted = steps["inject_called"]["t"], steps["revert_called"]["t"]
        changes = [e for e in events if e["type"] == "instance" and e["instance"] in targets]
        down = min(e["t"] for e in changes if e["state"] == "down" and e["t"] >= called)
        up = max(e["t"] for e in changes if e["state"] == "up" and e["t"] >= reverted)
        kill = steps["inject_effective"]["t"] - called
        restore = steps["revert_effective"]["t"] - reverted
        print(f"two engines: {engine}: {len(targets)} container(s): "
              f"kill {kill * 1000:.0f} ms, restore {restore:.2f} s "
              f"(state changes: down seen after {down - called:.2f} s, "
              f"all up seen after {up - reverted:.2f} s)")


LONG = f"- {{fault: zone_outage, zone: {LOST}, mode: terminate, duration: 120s}}\n"


def test_rollback_after_a_sigkilled_runner_clears_both_engines(
        chaoskit: Chaoskit, engines: dict[str, Any], second_engine: str) -> None:
    path = two_engine_experiment(chaoskit.tmp, second_engine, LONG)
    process = chaoskit.start("run", str(path), "--platform", "docker")
    try:
        wait_for_line(process, "phase  observe", timeout=90)
        run_id = run_id_of(chaoskit)
    finally:
        process.kill()
        process.wait(timeout=10)
    # The runner is gone; its zone stays held down on engine 2, the rest runs on.
    assert statuses(labelled(engines["second"], run_id)) == dict.fromkeys(ON_SECOND, "exited")
    assert statuses(labelled(engines["first"], run_id)) == dict.fromkeys(ON_FIRST, "running")

    rollback = chaoskit.start("rollback")
    output, _ = rollback.communicate(timeout=60)

    assert rollback.returncode == 0, output
    assert output.count("removed container") == len(ON_SECOND | ON_FIRST), output
    for client in engines.values():
        assert labelled(client, run_id) == {}, "nothing labelled is left on either engine"
    chaoskit.assert_nothing_left()


async def test_kill_and_restore_one_container_on_each_engine(
        run_id: str, engines: dict[str, Any], second_engine: str, tmp_path: Path) -> None:
    """The same one-container kill (held) and restore on each engine in turn, through the
    platform: each crash lands on the container's own engine and is counted, and ``-s``
    compares the engines without the Gorilla's four services starting at once on one."""
    mapping = {"a": second_engine}
    topology = Topology.model_validate(topology_dict(zones=("a", "b"), engines=mapping))
    launches = plan_launches(topology, base_dir=str(tmp_path), data_dir=tmp_path / "data")
    platform = DockerPlatform(RunState(run_id=run_id), run_id, tmp_path / "logs",
                              engines=mapping, say=lambda _: None)
    on = {"back-a-0": "second", "back-b-0": "first"}
    times: dict[str, list[tuple[float, float]]] = {instance: [] for instance in on}
    try:
        await platform.start(launches, timeout=60)
        assert set(labelled(engines["second"], run_id)) == {"back-a-0"}
        assert set(labelled(engines["first"], run_id)) == {"back-b-0", "front-global-0"}
        for _ in range(3):
            for instance, engine in on.items():
                began = time.monotonic()
                await platform.kill([instance], hold=True)
                killed = time.monotonic()
                container = labelled(engines[engine], run_id)[instance]
                assert (container["status"], container["exit"]) == ("exited", 137)
                await platform.restore([instance], timeout=30)
                times[instance].append((killed - began, time.monotonic() - killed))
                assert labelled(engines[engine], run_id)[instance]["status"] == "running"
        assert {s.instance.id: s.restarts for s in platform.status()} == \
            {"back-a-0": 3, "back-b-0": 3, "front-global-0": 0}
    finally:
        await platform.close()
        for client in engines.values():
            for container in client.containers.list(
                    all=True, filters={"label": f"chaoskit.run={run_id}"}):
                container.remove(force=True, v=True)
    for client in engines.values():
        assert labelled(client, run_id) == {}
    print()
    for instance, engine in on.items():
        kills, restores = zip(*times[instance], strict=True)
        print(f"one container on engine {'2 (second)' if engine == 'second' else '1 (default)'}"
              f", 3 cycles: kill median {statistics.median(kills) * 1000:.0f} ms, "
              f"restore median {statistics.median(restores):.2f} s "
              f"(max {max(kills) * 1000:.0f} ms / {max(restores):.2f} s)")
