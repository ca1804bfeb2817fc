"""Redis Sentinel with ``links: shared``: every node, sentinel and client reaches the
primary through its one proxy, so Latency Monkey on it cannot be bypassed.

How "cannot be bypassed" is checked: with the topology up and its links created,
every sentinel answers ``SENTINEL get-master-addr-by-name main`` with the primary's
*proxy* port, every replica's ``INFO replication`` names that proxy port as its
master, the primary lists its replicas at their proxy ports, and each sentinel
knows the others at theirs: no node holds any other node's direct address, so
whatever Sentinel passes around is a proxied address. Then a latency toxic on the
primary's proxy is seen by a client that asked Sentinel for the primary.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chaoskit.loader import load_experiment
from chaoskit.model.history import History
from chaoskit.proxy.fabric import LinkFabric, ToxicSpec
from chaoskit.runner import run_experiment
from chaoskit.runner.environment import Environment
from chaoskit.runner.options import RunOptions
from tests.examples.conftest import EXAMPLES, require, shortened_example
from tests.resilience.conftest import pair_dir

redis = pytest.importorskip("redis")
LATENCY = EXAMPLES / "redis-sentinel/experiments/latency.yaml"

__all__ = ["pair_dir"]


def _until(check: Callable[[], None], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _ports(sentinel_port: int, what: str) -> set[int]:
    """The ports a sentinel knows its ``replicas`` or ``sentinels`` at (raw: redis-py's
    parser of these replies breaks on some versions)."""
    connection = redis.Connection(host="127.0.0.1", port=sentinel_port, socket_timeout=2,
                                  decode_responses=True)
    try:
        connection.send_command("SENTINEL", what, "main")
        entries = connection.read_response()
    finally:
        connection.disconnect()
    return {int(dict(zip(e[::2], e[1::2], strict=True))["port"]) for e in entries}


def _median_set_ms(client: object, count: int = 15) -> float:
    times = []
    for i in range(count):
        start = time.perf_counter()
        client.set(f"probe:{i}", "x")  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_every_node_knows_the_primary_only_by_its_proxy(
        pair_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require("redis-server", "redis-sentinel")
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(pair_dir / "state"))
    experiment = load_experiment(LATENCY)
    env = Environment(experiment, RunOptions(quiet=True, reports_dir=pair_dir), pair_dir / "run")

    async def scenario() -> dict[str, float]:
        ctx = await env.setup(History(), random.Random(0))
        try:
            fabric = env.fabric
            assert isinstance(fabric, LinkFabric) and fabric.shared
            proxy = {link.upstream.id: link.port for link in fabric.links if link.upstream}
            direct = {la.instance.id: la.port for la in ctx.launches}
            assert set(proxy) == set(direct)  # one proxy per node, nothing per caller
            await asyncio.to_thread(_until, lambda: settled(proxy, direct), 30)
            sentinel = redis.sentinel.Sentinel(
                [("127.0.0.1", proxy[s]) for s in direct if s.startswith("sentinel-")],
                socket_timeout=2)
            client = sentinel.master_for("main", socket_timeout=2)  # as the load asks
            figures = {"before": await asyncio.to_thread(_median_set_ms, client)}
            primary = [ln for ln in fabric.links if ln.upstream and ln.upstream.id == "redis-a-0"]
            handles = await fabric.add_toxics(
                primary, [ToxicSpec("latency", "downstream", {"latency": 150, "jitter": 0})])
            try:
                figures["during"] = await asyncio.to_thread(_median_set_ms, client)
            finally:
                await fabric.remove_toxics(handles)
            figures["after"] = await asyncio.to_thread(_median_set_ms, client)
            client.close()
            return figures
        finally:
            await env.teardown()

    def settled(proxy: dict[str, int], direct: dict[str, int]) -> None:
        def talk(port: int) -> object:
            return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                               decode_responses=True)

        redises = [i for i in direct if i.startswith("redis-")]
        sentinels = [i for i in direct if i.startswith("sentinel-")]
        primary = proxy["redis-a-0"]
        replica_proxies = {proxy[r] for r in redises if r != "redis-a-0"}
        for name in sentinels:
            s = talk(direct[name])
            assert s.execute_command("SENTINEL", "get-master-addr-by-name", "main") == [
                "127.0.0.1", str(primary)]
            known = _ports(direct[name], "replicas")
            assert known == replica_proxies, (name, known)
            peers = _ports(direct[name], "sentinels")
            assert peers == {proxy[o] for o in sentinels if o != name}, (name, peers)
        for name in redises:
            info = talk(direct[name]).info("replication")
            if name == "redis-a-0":
                listed = {int(v["port"]) for k, v in info.items()
                          if k.startswith("slave") and isinstance(v, dict)}
                assert listed == replica_proxies
            else:
                assert (info["role"], int(info["master_port"])) == ("slave", primary), name
                assert info["master_link_status"] == "up", name

    figures = asyncio.run(scenario())
    print(f"\nSET median through Sentinel's primary (ms): {figures}")
    assert figures["before"] < 50 and figures["after"] < 50
    assert figures["during"] >= 145
    assert env.state.processes == [] and env.state.proxies == []


def test_latency_monkey_on_the_primary_slows_clients_and_costs_nothing(pair_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch
                                                                     ) -> None:
    require("redis-server", "redis-sentinel")
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(pair_dir / "state"))
    path = shortened_example("redis-sentinel/experiments/latency.yaml", pair_dir,
                             method={0: {"duration": "10s"}})
    result = run_experiment(load_experiment(path),
                            RunOptions(quiet=True, reports_dir=pair_dir / "reports"))
    assert result.verdict == "passed", result.judgement
    events = json.loads((result.run_dir / "journal.json").read_text())["history"]["events"]
    latency = {e["phase"]: e["value"] for e in events
               if e["type"] == "probe" and e["name"] == "write latency"}
    print(f"\nwrite p50 by phase (ms): {latency}")
    assert latency["observe"] >= 140  # the clients felt the fault: not bypassed
    assert latency["verify"] < 50
