"""Support for in-process target tests: configs and real 127.0.0.1 servers inside the test.

A plain module (not only a conftest) so test modules can import its types.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

# ``targets`` is not an installed package (it is what users copy and read), so
# tests import it from the repository root, as ``python -m targets.x`` does.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from targets.common.config import Config, Upstream

MakeConfig = Callable[..., Config]
Serve = Callable[[web.Application], "AsyncIterator[str]"]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    def make(service: str, *, upstreams: Mapping[str, Sequence[str]] | None = None,
             disabled: Sequence[str] = (), env: Mapping[str, str] | None = None,
             instance: str | None = None) -> Config:
        name = instance or f"{service}-test-0"
        data = tmp_path / name
        data.mkdir(exist_ok=True)
        return Config(
            service=service, instance=name, zone="z", region="r", host="127.0.0.1", port=0,
            upstreams={svc: tuple(Upstream(instance=f"{svc}-{i}", url=url)
                                  for i, url in enumerate(urls))
                       for svc, urls in (upstreams or {}).items()},
            disabled=frozenset(disabled), data_dir=data, env=dict(env or {}))
    return make


class Servers:
    """Starts apps on free 127.0.0.1 ports; closes whatever is still open at the end."""

    def __init__(self) -> None:
        self.servers: list[TestServer] = []

    async def start(self, app: web.Application) -> TestServer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        return server

    async def url(self, app: web.Application) -> str:
        server = await self.start(app)
        return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    holder = Servers()
    yield holder
    for server in holder.servers:
        await server.close()
