"""The real toxiproxy-python 0.1.1 client, unchanged, against both servers."""

from __future__ import annotations

import json
import time

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from tests.integration.proxy.proxy_sockets import Server, TcpServer, connect, round_trip

pytestmark = pytest.mark.integration


def test_version_is_raw_bytes(tp: Toxiproxy, server: Server) -> None:
    raw = tp.version()
    assert isinstance(raw, bytes) and "version" in json.loads(raw)


def test_proxy_lifecycle(tp: Toxiproxy, server: Server, echo_server: TcpServer) -> None:
    proxy = tp.create(upstream=echo_server.address, name="echo")
    assert proxy.name == "echo" and proxy.enabled
    assert set(tp.proxies()) == {"echo"}
    assert tp.get_proxy("echo").listen == proxy.listen
    with pytest.raises(ProxyExists):
        tp.create(upstream=echo_server.address, name="echo")
    tp.destroy(proxy)
    assert tp.proxies() == {}


def test_toxics_through_the_client(tp: Toxiproxy, server: Server,
                                   echo_server: TcpServer) -> None:
    proxy = tp.create(upstream=echo_server.address, name="echo")
    proxy.add_toxic(type="latency", attributes={"latency": 500})
    proxy.add_toxic(type="timeout", stream="upstream", toxicity=0.0, name="t1",
                    attributes={"timeout": 0})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "t1"}
    assert toxics["latency_downstream"].attributes == {"latency": 500, "jitter": 0}
    assert proxy.get_toxic("t1").stream == "upstream"
    with connect(proxy.listen) as sock:
        assert round_trip(sock) >= 0.500
        assert proxy.destroy_toxic("latency_downstream")
        assert round_trip(sock) < 0.250  # gone: its 500 ms would be a floor
    # The client calls a 409 "ProxyExists" and every 400 "InvalidToxic".
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="latency", name="t1")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="nonsense")
    assert proxy.get_toxic("missing") is None  # looked up client-side in toxics()
    with pytest.raises(NotFound):
        proxy.destroy_toxic("missing")


def test_down_and_reset(tp: Toxiproxy, server: Server, echo_server: TcpServer) -> None:
    proxy = tp.create(upstream=echo_server.address, name="echo")
    with proxy.down():
        assert not tp.get_proxy("echo").enabled
        with pytest.raises(ConnectionRefusedError), connect(proxy.listen):
            pass
    assert tp.get_proxy("echo").enabled
    proxy.add_toxic(type="latency", attributes={"latency": 1000})
    proxy.disable()
    assert tp.reset()
    assert tp.get_proxy("echo").enabled and proxy.toxics() == {}
    start = time.monotonic()
    with connect(proxy.listen) as sock:
        round_trip(sock)
    assert time.monotonic() - start < 0.5  # the 1 s toxic is gone
