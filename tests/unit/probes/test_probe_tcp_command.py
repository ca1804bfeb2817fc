"""tcp and command probes against loopback listeners and tiny Python commands."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.errors import ObserverError
from chaoskit.model.probes import CommandProbe, TcpProbe
from chaoskit.platform.base import InstanceState
from chaoskit.probes import build_probe
from chaoskit.probes.command import read_json_path
from tests.unit.probes.support import context, launch


@contextmanager
def listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    with listener() as port:
        return port


def tcp(**fields: Any) -> TcpProbe:
    return TcpProbe.model_validate({"probe": "tcp", **fields})


def command(*argv: str, **fields: Any) -> CommandProbe:
    return CommandProbe.model_validate({"probe": "command", "command": argv, **fields})


async def test_tcp_share_of_selected_instances_accepting(tmp_path: Path) -> None:
    with listener() as a, listener() as admin:
        launches = [launch("redis", 0, {"client": a, "admin": admin}),
                    launch("redis", 1, {"client": closed_port(), "admin": admin}),
                    launch("other", 0, {"http": closed_port()})]
        ctx = context(tmp_path, launches)
        half = await build_probe(tcp(selector={"service": "redis"})).read(ctx)
        on_admin = await build_probe(tcp(selector={"service": "redis"}, port="admin")).read(ctx)
        p99 = await build_probe(tcp(selector={"service": "redis"}, port="admin",
                                    value="connect_p99_ms")).read(ctx)
        missing = await build_probe(tcp(port="nope")).read(ctx)
    assert half.value == 0.5 and "redis-1" in half.detail
    assert on_admin.value == 1.0
    assert p99.value is not None and 0 <= p99.value < 1000
    assert missing.value is None and "no port 'nope'" in missing.detail


async def test_tcp_address_for_a_system_chaoskit_did_not_start(tmp_path: Path) -> None:
    with listener() as port:
        up = await build_probe(tcp(address=f"127.0.0.1:{port}")).read(context(tmp_path))
    down = await build_probe(tcp(address=f"127.0.0.1:{closed_port()}",
                                 value="connect_p50_ms")).read(context(tmp_path))
    elsewhere = await build_probe(tcp(address="192.0.2.1:80")).read(context(tmp_path))
    assert up.value == 1.0
    assert down.value is None and "0/1 accepted" in down.detail
    assert elsewhere.value is None and "allow_hosts" in elsewhere.detail


async def test_tcp_with_nothing_selected_reads_none(tmp_path: Path) -> None:
    reading = await build_probe(tcp(selector={"service": "ghost"})).read(context(tmp_path))
    assert reading.value is None


def test_tcp_address_excludes_selector() -> None:
    with pytest.raises(ValidationError, match="address replaces"):
        tcp(address="127.0.0.1:1", port="x")
    with pytest.raises(ValidationError):
        tcp(address="nohostport")


PY = sys.executable


async def test_command_exit_status_regex_count_and_json(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    status = await build_probe(command(PY, "-c", "raise SystemExit(3)")).read(ctx)
    role = "role:master\nconnected_slaves:2\nslave0:x\nslave1:y\n"
    text = f"print({role!r})"
    regex = await build_probe(command(PY, "-c", text, regex=r"connected_slaves:(\d+)")
                              ).read(ctx)
    count = await build_probe(command(PY, "-c", text, regex=r"^slave\d+:", count=True)
                              ).read(ctx)
    doc = json.dumps([{"Status": {"dbSize": 24576, "leader": True}}])
    as_json = await build_probe(command(PY, "-c", f"print({doc!r})",
                                        json_path="[0].Status.dbSize")).read(ctx)
    assert status.value == 3.0
    assert regex.value == 2.0
    assert count.value == 2.0
    assert as_json.value == 24576.0


async def test_command_failures_read_none_with_a_detail(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with pytest.raises(ObserverError) as missing:  # the tool is missing, not the system
        await build_probe(command("no-such-program-xyz", regex="(x)")).read(ctx)
    nomatch = await build_probe(command(PY, "-c", "print('hello')", regex=r"(\d+)")).read(ctx)
    failed = await build_probe(command(PY, "-c", "import sys; sys.exit('boom')", regex="(x)")
                               ).read(ctx)
    assert "command probe `no-such-program-xyz`" in str(missing.value)
    assert "not found" in str(missing.value)
    assert nomatch.value is None and "no match" in nomatch.detail and "hello" in nomatch.detail
    assert failed.value is None and "exit status 1" in failed.detail and "boom" in failed.detail


async def test_command_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    # The command starts a grandchild that would outlive a kill of the direct child only.
    script = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
              f"'import time; time.sleep(60)']); open({str(marker)!r}, 'w').write(str(p.pid));"
              f" time.sleep(60)")
    started = time.monotonic()
    reading = await build_probe(command(PY, "-c", script, timeout="1s")).read(context(tmp_path))
    assert time.monotonic() - started < 5
    assert reading.value is None and "timed out after 1 s" in reading.detail
    grandchild = int(marker.read_text())
    for _ in range(50):
        try:
            with open(f"/proc/{grandchild}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"grandchild {grandchild} outlived the timeout")


async def test_command_templates_and_per_instance_runs(tmp_path: Path) -> None:
    from chaoskit.model.experiment import Experiment

    experiment = Experiment.model_validate({
        "title": "t",
        "topology": {"name": "t", "entrypoint": "redis",
                     "regions": [{"name": "r1", "zones": ["z1"]}],
                     "services": [{"name": "redis", "command": ["x"], "replicas": 2,
                                   "scope": "region", "ports": ["client", "bus"]}]},
        "steady_state": [{"name": "up", "probe": "instances", "tolerance": {"min": 1}}],
    })
    launches = [launch("redis", 0, {"client": 7000, "bus": 7100}, zone="z1", region="r1"),
                launch("redis", 1, {"client": 7001, "bus": 7101}, zone="z1", region="r1")]
    launches = [x.__class__(**{**x.__dict__, "instance": x.instance.model_copy(
        update={"id": f"redis-r1-{x.instance.index}"})}) for x in launches]
    ctx = context(tmp_path, launches, states={"redis-r1-1": InstanceState.DOWN})
    ctx.experiment = experiment
    listing = "{% for r in instances('redis') %}{{ r.port }} {% endfor %}"
    every = await build_probe(command(PY, "-c", f"print(sum(map(int, '{listing}'.split())))",
                                      regex=r"(\d+)")).read(ctx)
    assert every.value == 14001.0
    each = await build_probe(command(PY, "-c", "print({{ ports.bus }})", regex=r"(\d+)",
                                     selector={"service": "redis"}, aggregate="max")).read(ctx)
    assert each.value == 7100.0 and "redis-r1-0" in each.detail  # redis-r1-1 is down
    bad = await build_probe(command(PY, "{{ instances('ghost') }}")).read(ctx)
    assert bad.value is None and "unknown service" in bad.detail


def test_command_spec_checks() -> None:
    with pytest.raises(ValidationError, match="give one"):
        command("x", regex="a", json_path="a")
    with pytest.raises(ValidationError, match="counts matches"):
        command("x", count=True)
    with pytest.raises(ValidationError, match="regex"):
        command("x", regex="(")
    with pytest.raises(ValidationError, match="json_path"):
        command("x", json_path="a..b")
    with pytest.raises(ValidationError):
        command()


@pytest.mark.parametrize(("text", "path", "value"), [
    ('{"a": {"b": [1, 2.5]}}', "a.b[1]", 2.5),
    ('{"a": "7"}', "$.a", 7.0),
    ('{"ok": false}', "ok", 0.0),
    ('{"a": [1]}', "a[3]", None),
    ('{"a": {"b": 1}}', "a.c", None),
    ('{"a": "x"}', "a", None),
    ("not json", "a", None),
])
def test_json_path(text: str, path: str, value: float | None) -> None:
    assert read_json_path(text, path, "p").value == value
