"""The prometheus probe against a fake Prometheus HTTP API on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.errors import ObserverError
from chaoskit.model.probes import PrometheusProbe
from chaoskit.probes import build_probe
from chaoskit.probes.prometheus import reduce_result
from tests.unit.probes.support import context, fake_http, json_reply


def spec(**fields: Any) -> PrometheusProbe:
    return PrometheusProbe.model_validate({"probe": "prometheus", **fields})


def vector(*values: float) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"i": str(n)}, "value": [1.0, str(v)]} for n, v in enumerate(values)]}}


def matrix(*series: list[float]) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"i": str(n)}, "values": [[100.0 + t, str(v)] for t, v in enumerate(s)]}
        for n, s in enumerate(series)]}}


async def test_instant_query_sums_the_series(tmp_path: Path) -> None:
    with fake_http(lambda path, q: json_reply(vector(2, 3.5))) as server:
        reading = await build_probe(spec(query="up", url=server.url)).read(context(tmp_path))
    assert reading.value == 5.5
    path, query = server.requests[0]
    assert path == "/api/v1/query" and query["query"] == "up" and "time" in query


async def test_default_url_is_the_runs_own_prometheus(tmp_path: Path) -> None:
    with fake_http(lambda path, q: json_reply(vector(1))) as server:
        ctx = context(tmp_path, prometheus_url=server.url + "/")
        reading = await build_probe(spec(query="up")).read(ctx)
    assert reading.value == 1.0


async def test_no_url_and_no_run_prometheus_is_a_clear_none(tmp_path: Path) -> None:
    reading = await build_probe(spec(query="up")).read(context(tmp_path))
    assert reading.value is None
    assert "prometheus probe 'up'" in reading.detail
    assert "observability: {prometheus: true}" in reading.detail


@pytest.mark.parametrize(("how", "expected"), [
    ("sum", 6.0), ("min", 1.0), ("max", 3.0), ("count", 3.0), ("single", None)])
async def test_series_combination(tmp_path: Path, how: str, expected: float | None) -> None:
    with fake_http(lambda path, q: json_reply(vector(1, 2, 3))) as server:
        reading = await build_probe(spec(query="x", url=server.url, series=how)
                                    ).read(context(tmp_path))
    assert reading.value == expected


async def test_range_query_over_the_window(tmp_path: Path) -> None:
    # Two series summed per instant: 5, 1, 9, 4 → min 1, max 9, mean 4.75, last 4.
    answer = matrix([4, 0, 8, 2], [1, 1, 1, 2])
    results = {}
    with fake_http(lambda path, q: json_reply(answer)) as server:
        for how in ("last", "min", "max", "mean"):
            probe = build_probe(spec(query="x", url=server.url, range=True, window="30s",
                                     step="2s", over_time=how))
            results[how] = (await probe.read(context(tmp_path), window=20)).value
    assert results == {"last": 4.0, "min": 1.0, "max": 9.0, "mean": 4.75}
    path, query = server.requests[0]
    assert path == "/api/v1/query_range" and query["step"] == "2"
    # The window the runner passes wins over the spec's.
    assert float(query["end"]) - float(query["start"]) == pytest.approx(20, abs=0.01)


# The observer failing is not the system failing: an ObserverError ends the run in error.

async def test_a_bad_query_is_an_observer_error_naming_the_probe(tmp_path: Path) -> None:
    body = {"status": "error", "errorType": "bad_data",
            "error": "invalid parameter \"query\": 1:5: parse error: unexpected <op:+>"}
    with fake_http(lambda path, q: json_reply(body, status=400)) as server, \
            pytest.raises(ObserverError) as error:
        await build_probe(spec(query="up +", url=server.url)).read(context(tmp_path))
    assert "prometheus 'up +'" in str(error.value) and "bad_data" in str(error.value)
    assert "parse error" in str(error.value)


async def test_an_unreachable_server_is_an_observer_error(tmp_path: Path) -> None:
    with fake_http(lambda path, q: json_reply({})) as server:
        url = server.url  # closed once the block ends
    with pytest.raises(ObserverError, match="unreachable"):
        await build_probe(spec(query="up", url=url, timeout=1)).read(context(tmp_path))


async def test_something_not_prometheus_is_an_observer_error(tmp_path: Path) -> None:
    with fake_http(lambda path, q: (200, "text/html", "<html>hi</html>")) as server, \
            pytest.raises(ObserverError, match="not JSON"):
        await build_probe(spec(query="up", url=server.url)).read(context(tmp_path))


async def test_empty_vector_reads_none(tmp_path: Path) -> None:
    with fake_http(lambda path, q: json_reply(vector())) as server:
        reading = await build_probe(spec(query="absent", url=server.url)
                                    ).read(context(tmp_path))
    assert reading.value is None and "no series" in reading.detail


def test_scalar_and_nan() -> None:
    assert reduce_result({"resultType": "scalar", "result": [1, "2.5"]},
                         series="sum", over_time="last")[0] == 2.5
    assert reduce_result({"resultType": "scalar", "result": [1, "NaN"]},
                         series="sum", over_time="last")[0] is None


def test_off_machine_url_is_refused(tmp_path: Path) -> None:
    probe = build_probe(spec(query="up", url="http://example.com:9090"))
    import asyncio
    reading = asyncio.run(probe.read(context(tmp_path)))
    assert reading.value is None and "not on 127.0.0.1" in reading.detail


@pytest.mark.parametrize("query", ["sum(rate(x[1m])", "up{job=\"a}", "x]", "rate(x[1m)]"])
def test_visibly_broken_query_is_refused_when_loaded(query: str) -> None:
    with pytest.raises(ValidationError, match="does not parse"):
        spec(query=query)


@pytest.mark.parametrize("query", ['up{job="a)"}', "sum by (a) (rate(x[5m]))",
                                   "`a(`", 'x{l="\\"("}'])
def test_well_formed_queries_load(query: str) -> None:
    assert spec(query=query).query == query
