"""Starting and stopping either server through chaoskit.proxy.servers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chaoskit.proxy.client import ToxiproxyClient
from chaoskit.proxy.servers import find_toxiproxy, open_proxy_server
from chaoskit.state import RunState, process_alive

pytestmark = pytest.mark.integration


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunState:
    monkeypatch.setenv("CHAOSKIT_STATE_DIR", str(tmp_path))
    return RunState(run_id="proxy-test")


async def test_embedded_in_process() -> None:
    handle = await open_proxy_server("embedded")
    try:
        async with ToxiproxyClient(handle.url) as api:
            assert await api.version() == "2.12.0-chaoskit"
    finally:
        await handle.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.url}/version")


async def test_embedded_subprocess_is_recorded(state: RunState) -> None:
    handle = await open_proxy_server("embedded", state, in_process=False)
    pid = handle.process.pid  # type: ignore[attr-defined]
    assert [(p.pid, p.role) for p in state.processes] == [(pid, "proxy-server")]
    async with ToxiproxyClient(handle.url) as api:
        assert await api.version() == "2.12.0-chaoskit"
    await handle.close()
    assert state.processes == [] and not process_alive(pid)


async def test_real_toxiproxy(state: RunState) -> None:
    if find_toxiproxy() is None:
        pytest.skip("real toxiproxy not found: set CHAOSKIT_TOXIPROXY_SERVER")
    async with await open_proxy_server("toxiproxy", state) as handle:
        assert handle.kind == "toxiproxy"
        async with ToxiproxyClient(handle.url) as api:
            assert await api.proxies() == {}
    assert state.processes == []
