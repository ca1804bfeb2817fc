"""chaoskit's typed client (chaoskit.proxy.client) against both servers."""

from __future__ import annotations

import pytest

from chaoskit.proxy.client import Proxy, Toxic, ToxiproxyClient
from chaoskit.proxy.errors import BadRequest, Conflict, NotFound, ProxyUnavailable, ServerFailure
from chaoskit.proxy.servers import free_port
from tests.integration.proxy.proxy_sockets import Server, TcpServer, connect, round_trip

pytestmark = pytest.mark.integration


async def test_round_trip_of_every_call(server: Server, echo_server: TcpServer) -> None:
    async with ToxiproxyClient(server.url, timeout=5) as api:
        assert await api.version()
        proxy = await api.create_proxy("p", upstream=echo_server.address)
        assert isinstance(proxy, Proxy) and proxy.enabled and proxy.port > 0
        assert proxy.host == "127.0.0.1"
        assert await api.proxies() == {"p": proxy}
        toxic = await api.add_toxic("p", "latency", attributes={"latency": 100, "jitter": 5})
        assert toxic == Toxic("latency_downstream", "latency", "downstream", 1.0,
                              {"latency": 100, "jitter": 5})
        updated = await api.update_toxic("p", toxic.name, attributes={"latency": 120},
                                         toxicity=0.5)
        assert updated.attributes == {"latency": 120, "jitter": 5} and updated.toxicity == 0.5
        assert await api.toxics("p") == [updated]
        assert await api.toxic("p", toxic.name) == updated
        assert (await api.proxy("p")).toxics == (updated,)
        await api.delete_toxic("p", toxic.name)
        assert (await api.disable("p")).enabled is False
        assert (await api.enable("p")).listen == proxy.listen
        populated = await api.populate([{"name": "q", "listen": "127.0.0.1:0",
                                         "upstream": echo_server.address}])
        assert [p.name for p in populated] == ["q"]
        await api.reset()
        await api.delete_proxy("p")
        await api.delete_proxy("q")
        assert await api.proxies() == {}


async def test_typed_errors(server: Server, echo_server: TcpServer) -> None:
    async with ToxiproxyClient(server.url, timeout=5) as api:
        with pytest.raises(NotFound) as missing:
            await api.proxy("nope")
        assert missing.value.status == 404 and missing.value.message == "proxy not found"
        await api.create_proxy("p", upstream=echo_server.address)
        with pytest.raises(Conflict):
            await api.create_proxy("p", upstream=echo_server.address)
        with pytest.raises(BadRequest):
            await api.add_toxic("p", "nonsense")
        with pytest.raises(ServerFailure):
            await api.create_proxy("q", upstream=echo_server.address, listen=echo_server.address)


async def test_toxic_is_live_through_the_typed_client(server: Server,
                                                      echo_server: TcpServer) -> None:
    async with ToxiproxyClient(server.url) as api:
        proxy = await api.create_proxy("p", upstream=echo_server.address)
        await api.add_toxic("p", "latency", stream="upstream", attributes={"latency": 100})
        with connect(proxy.listen) as sock:
            assert round_trip(sock) >= 0.100


async def test_unreachable_server() -> None:
    async with ToxiproxyClient(f"http://127.0.0.1:{free_port()}", timeout=1) as api:
        with pytest.raises(ProxyUnavailable):
            await api.version()
