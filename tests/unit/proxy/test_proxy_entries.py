"""Decoding API bodies: toxic defaults and errors, proxy specs, addresses."""

from __future__ import annotations

import pytest

from chaoskit.proxy.server.address import join_host_port, normalise_listen, split_host_port
from chaoskit.proxy.server.collection import ProxySpec
from chaoskit.proxy.server.errors import ApiError
from chaoskit.proxy.server.toxic_entry import ToxicEntry
from chaoskit.proxy.server.toxics.latency import Latency


def test_toxic_defaults() -> None:
    entry = ToxicEntry.from_json({"type": "latency"})
    assert (entry.name, entry.stream, entry.direction, entry.toxicity) == (
        "latency_downstream", "downstream", "downstream", 1.0)
    assert entry.to_json() == {"attributes": {"latency": 0, "jitter": 0},
                               "name": "latency_downstream", "type": "latency",
                               "stream": "downstream", "toxicity": 1.0}


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "latency", "stream": "left"}, "stream was invalid"),
    ({"type": "nope"}, "invalid toxic type"),
    ({"type": "latency", "toxicity": 2}, "toxicity must be between 0 and 1"),
    ({"type": "latency", "toxicity": "1"}, "toxicity must be a number"),
    ({"type": "latency", "attributes": {"latency": "x"}}, "must be an integer"),
    ([], "expected a JSON object"),
])
def test_toxic_rejections(body: object, message: str) -> None:
    with pytest.raises(ApiError) as error:
        ToxicEntry.from_json(body)
    assert error.value.status == 400 and message in error.value.message


def test_update_keeps_what_is_not_given() -> None:
    entry = ToxicEntry.from_json({"type": "latency", "toxicity": 0.5,
                                  "attributes": {"latency": 10, "jitter": 2}})
    updated = entry.updated({"attributes": {"latency": 20}, "name": "x", "stream": "upstream"})
    assert updated.toxic == Latency(20, 2) and updated.toxicity == 0.5
    assert (updated.name, updated.stream) == ("latency_downstream", "downstream")


def test_check_rejects_invalid_attributes() -> None:
    with pytest.raises(ApiError, match="rate must be > 0"):
        ToxicEntry.from_json({"type": "bandwidth"}).check()


def test_proxy_spec() -> None:
    spec = ProxySpec.from_json({"NAME": "p", "upstream": "127.0.0.1:1"})
    assert spec == ProxySpec("p", "", "127.0.0.1:1", True)
    with pytest.raises(ApiError, match="missing required field: upstream at proxy 3"):
        ProxySpec.from_json({"name": "p"}, " at proxy 3")
    with pytest.raises(ApiError, match="enabled must be a bool"):
        ProxySpec.from_json({"name": "p", "upstream": "x:1", "enabled": "yes"})


def test_addresses() -> None:
    assert split_host_port("127.0.0.1:80") == ("127.0.0.1", 80)
    assert split_host_port("[::1]:80") == ("::1", 80)
    assert split_host_port(":80") == ("", 80)
    for bad in ("local373", "host:x", "host:70000"):
        with pytest.raises(ValueError):
            split_host_port(bad)
    assert join_host_port("::1", 5) == "[::1]:5"
    assert normalise_listen("localhost:5") == "127.0.0.1:5"
