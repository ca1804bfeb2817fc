"""metric probe on any port/path with label matchers and aggregates; load breach seconds;
selector lists; validate-time probe checks; the schema of the new fields."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.loader.references import unknown_references
from chaoskit.loader.schema import experiment_json_schema
from chaoskit.model.experiment import Experiment
from chaoskit.model.history import LoadSample, RequestStats
from chaoskit.model.probes import Breach, LoadProbe, MetricProbe
from chaoskit.model.topology import Instance, Selector
from chaoskit.platform.base import InstanceState
from chaoskit.probes import build_probe
from chaoskit.probes.load import breach_seconds
from chaoskit.probes.metric import parse_metric
from tests.unit.probes.support import context, fake_http, launch

TEXT = """# HELP role the role
redis_role{role="master",host="a"} 1
redis_role{role="replica",host="b"} 0
redis_up 1
"""


def metric(**fields: Any) -> MetricProbe:
    return MetricProbe.model_validate({"probe": "metric", **fields})


@pytest.mark.parametrize(("labels", "value"), [
    ({}, 1.0), ({"role": "master"}, 1.0), ({"role": "!master"}, 0.0),
    ({"role": "~mas.*"}, 1.0), ({"role": "~mas"}, None), ({"host": "c"}, None)])
def test_label_matchers(labels: dict[str, str], value: float | None) -> None:
    assert parse_metric(TEXT, "redis_role", labels) == value


async def test_metric_on_a_named_port_and_path_aggregated(tmp_path: Path) -> None:
    answers = {"/exporter": "queue_depth 3\n"}
    with fake_http(lambda path, q: (200, "text/plain", answers.get(path, "queue_depth 100\n"))
                   ) as one, fake_http(lambda path, q: (200, "text/plain", "queue_depth 5\n")
                                       ) as two:
        launches = [launch("svc", 0, {"http": 1, "exporter": one.port}),
                    launch("svc", 1, {"http": 1, "exporter": two.port}),
                    launch("svc", 2, {"http": 1, "exporter": two.port})]
        ctx = context(tmp_path, launches, states={"svc-2": InstanceState.DOWN})
        results = {}
        for how in ("sum", "min", "max", "count"):
            probe = metric(metric="queue_depth", port="exporter", path="/exporter",
                           aggregate=how)
            results[how] = (await build_probe(probe).read(ctx)).value
        bad_port = await build_probe(metric(metric="x", port="nope")).read(ctx)
    assert results == {"sum": 8.0, "min": 3.0, "max": 5.0, "count": 2.0}
    assert one.requests[0][0] == "/exporter"
    assert bad_port.value is None and "no port 'nope'" in bad_port.detail


def sample(second: int, requests: int, failures: int) -> LoadSample:
    return LoadSample(second=second,
                      total=RequestStats(requests=requests, failures=failures,
                                         good=requests - failures))


def test_breach_longest_run_and_total() -> None:
    # success ratio per second: 1, .5, 0, (missing), 1, 0.95, .8
    samples = [sample(100, 10, 0), sample(101, 10, 5), sample(102, 10, 10),
               sample(104, 10, 0), sample(105, 20, 1), sample(106, 10, 2)]
    longest = Breach(below=0.9)
    total = Breach(below=0.9, measure="total")
    value, detail = breach_seconds(samples, longest, "load.success_ratio", None)
    assert value == 3.0 and "from +1 s" in detail  # 101, 102 and the missing 103
    assert breach_seconds(samples, total, "load.success_ratio", None)[0] == 4.0
    assert breach_seconds(samples, Breach(above=0), "load.failures", None)[0] == 3.0
    assert breach_seconds(samples, Breach(above=0, measure="total"), "load.failures",
                          None)[0] == 5.0
    assert breach_seconds(samples[:1], longest, "load.success_ratio", None)[0] == 0.0


async def test_breach_through_the_load_probe(tmp_path: Path) -> None:
    now = int(time.time())
    ctx = context(tmp_path)
    for offset, failures in ((-5, 0), (-4, 10), (-3, 10), (-2, 0), (-1, 0)):
        ctx.history.append(sample(now + offset, 10, failures))
    spec = LoadProbe(probe="load.success_ratio", window=10, breach=Breach(below=0.99))
    reading = await build_probe(spec).read(ctx)
    assert reading.value == 2.0


def test_breach_takes_one_bound() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Breach()
    with pytest.raises(ValidationError, match="exactly one"):
        Breach(below=1, above=2)


def test_selector_lists() -> None:
    one = Instance(id="redis-0", service="redis", zone="a", region="r", index=0)
    assert Selector(service=("redis", "sentinel")).matches(one)
    assert not Selector(service=("sentinel",)).matches(one)
    assert Selector(service="redis", zone=["a", "b"]).matches(one)  # type: ignore[arg-type]
    assert Selector(service=("redis", "sentinel")).describe() == "service=redis|sentinel"


TOPOLOGY = {"name": "t", "entrypoint": "redis", "regions": [{"name": "r1", "zones": ["z1"]}],
            "services": [{"name": "redis", "command": ["x"]},
                         {"name": "sentinel", "command": ["x"]}]}


def experiment(*probes: dict[str, Any], **extra: Any) -> Experiment:
    return Experiment.model_validate({
        "title": "t", **extra,
        "steady_state": [{"name": f"p{i}", "tolerance": {"min": 0}, **p}
                         for i, p in enumerate(probes)]})


def test_references_in_selector_lists_and_probe_problems() -> None:
    problems = unknown_references(experiment(
        {"probe": "tcp", "selector": {"service": ["redis", "sentinal"]}},
        {"probe": "command", "command": ["no-such-program-xyz"]},
        {"probe": "command", "command": ["{{ python }}"]},
        {"probe": "prometheus", "query": "up"},
        topology=TOPOLOGY))
    messages = [(loc, message) for loc, _, message in problems]
    assert messages[0][0] == ("steady_state", 0, "probe", "selector", "service", 1)
    assert "unknown service 'sentinal'" in messages[0][1]
    assert "command probe 'p1': 'no-such-program-xyz' not found" in messages[1][1]
    assert "prometheus probe 'p3': no url" in messages[2][1]
    assert len(messages) == 3
    # No topology: the probe checks still run; with its own Prometheus, no url is fine.
    assert len(unknown_references(experiment({"probe": "command", "command": ["nope-xyz"]}))) == 1
    assert unknown_references(experiment({"probe": "prometheus", "query": "up"},
                                         observability={"prometheus": True})) == []


def test_schema_lists_the_new_probes_flat() -> None:
    schema = experiment_json_schema()
    variants = {v["properties"]["probe"].get("const") or "load": v
                for v in schema["$defs"]["SteadyStateProbe"]["oneOf"]}
    assert {"tcp", "command", "prometheus"} <= set(variants)
    assert {"query", "url", "range", "over_time", "series"} <= set(variants["prometheus"]
                                                                   ["properties"])
    assert {"address", "port", "value"} <= set(variants["tcp"]["properties"])
    assert {"regex", "count", "json_path", "selector"} <= set(variants["command"]["properties"])
    assert {"port", "path", "aggregate"} <= set(variants["metric"]["properties"])
    assert "breach" in variants["load"]["properties"]
