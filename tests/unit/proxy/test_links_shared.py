"""links: shared, load.through_link, declared proxies and allow_hosts: the planning and
the refusals, with no process and no proxy server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.errors import LoadError, ProxyError
from chaoskit.load.driver import check_host
from chaoskit.model.experiment import Experiment
from chaoskit.model.topology import Selector, Topology, plan_instances
from chaoskit.platform.deployment import plan_launches
from chaoskit.proxy.fabric import LOAD, LinkFabric

UNUSED_API = "http://127.0.0.1:9"
STEADY = [{"name": "up", "probe": "instances", "tolerance": {"min": 1}}]


def sentinel_like(links: str = "shared") -> Topology:
    return Topology.model_validate({
        "name": "t", "regions": [{"name": "r", "zones": ["a", "b"]}], "entrypoint": "db",
        "links": links,
        "services": [
            {"name": "db", "command": ["x"], "ports": ["client", "bus"],
             "files": {"db.conf": "replicaof {{ instances('db')[0].address }}"}},
            {"name": "watch", "command": ["x"], "depends_on": [{"service": "db"}]},
        ]})


def experiment(**fields: Any) -> Experiment:
    return Experiment.model_validate({"title": "t", "steady_state": STEADY, **fields})


def test_shared_links_are_one_per_instance_and_every_caller_dials_them(tmp_path: Path) -> None:
    topology = sentinel_like()
    fabric = LinkFabric(topology, UNUSED_API)
    assert [link.name for link in fabric.links] == [i.id for i in plan_instances(topology)]
    assert all(link.caller is None for link in fabric.links)
    launches = plan_launches(topology, base_dir=".", data_dir=tmp_path,
                             link_address=fabric.link_address, ports=fabric.instance_ports)
    primary = fabric.select(Selector(instance="db-a-0"))[0]
    # A peer that is no dependency (db → db) sees the proxy too: one address per node.
    for launch in launches:
        if launch.instance.service == "db":
            text = (tmp_path / launch.instance.id / "db.conf").read_text()
            assert text == f"replicaof {primary.listen}"
    # The load's view is the same proxy.
    assert fabric.link_address(None, primary.upstream, "127.0.0.1:"  # type: ignore[arg-type]
                               f"{launches[0].port}") == primary.listen


def test_shared_links_refuse_a_caller_and_isolation() -> None:
    fabric = LinkFabric(sentinel_like(), UNUSED_API)
    with pytest.raises(ProxyError, match="cannot pick a caller"):
        fabric.select(Selector(service="db"), Selector(service="watch"))
    with pytest.raises(ProxyError, match="links: per_caller"):
        fabric.crossing(Selector(zone="a"))
    with pytest.raises(ValidationError, match=r"method\[0\]\.caller: .*links: shared"):
        experiment(topology=sentinel_like().model_dump(),
                   method=[{"fault": "latency", "latency": 5, "service": "db",
                            "caller": "watch"}])
    with pytest.raises(ValidationError, match=r"method\[0\]\.mode: isolate"):
        experiment(topology=sentinel_like().model_dump(),
                   method=[{"fault": "zone_outage", "zone": "a", "mode": "isolate"}])


def test_a_second_port_is_not_carried_by_a_link() -> None:
    fabric = LinkFabric(sentinel_like(), UNUSED_API)
    db = plan_instances(sentinel_like())[0]
    bus = fabric.instance_ports[db.id]["bus"]
    with pytest.raises(ProxyError, match="first named port only"):
        fabric.link_address(None, db, f"127.0.0.1:{bus}")
    with pytest.raises(ValidationError, match=r"load\.target\.port: links carry"):
        experiment(topology=sentinel_like().model_dump(),
                   load={"locustfile": "l.py", "through_link": True,
                         "target": {"service": "db", "port": "bus"}})


def test_through_link_gives_the_load_its_own_links_on_per_caller() -> None:
    plain = LinkFabric(sentinel_like("per_caller"), UNUSED_API)
    fabric = LinkFabric(sentinel_like("per_caller"), UNUSED_API, through_link=True)
    load_links = [link for link in fabric.links if link.caller is LOAD]
    assert len(load_links) == len(plan_instances(sentinel_like())) == 4
    assert len(fabric.links) == len(plain.links) + 4
    assert {link.name for link in load_links} == {f"load--{i.id}"
                                                   for i in plan_instances(sentinel_like())}


def test_declared_proxies_are_checked_and_named_by_faults() -> None:
    proxies = [{"name": "app-redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379"}]
    exp = experiment(proxies=proxies, method=[{"fault": "latency", "latency": 5,
                                               "proxy": "app-redis"}])
    fabric = LinkFabric(None, UNUSED_API, proxies=exp.proxies)
    assert [(link.name, link.listen) for link in fabric.named(["app-redis"])] == [
        ("app-redis", "127.0.0.1:26379")]
    with pytest.raises(ProxyError, match="no declared proxy 'db'"):
        fabric.named(["db"])
    bad: list[tuple[dict[str, Any], str]] = [
        ({"proxies": proxies, "method": [{"fault": "latency", "latency": 5, "proxy": "x"}]},
         r"method\[0\]\.proxy: unknown proxy 'x'"),
        ({"method": [{"fault": "latency", "latency": 5}]}, "give it proxy: NAME"),
        ({"proxies": [{**proxies[0], "listen": "10.0.0.1:1"}]}, "listens on this machine"),
        ({"proxies": [{**proxies[0], "upstream": "10.1.2.3:6379"}]},
         "list it in settings.allow_hosts"),
        ({"proxies": [proxies[0], {**proxies[0], "name": "b"}]}, "listen 127.0.0.1:26379 repeats"),
        ({"proxies": [{**proxies[0], "listen": "nope"}]}, "is not host:port"),
        ({"proxies": proxies, "method": [{"fault": "latency", "latency": 5, "proxy": "app-redis",
                                          "service": "db"}]}, "drop service"),
    ]
    for fields, message in bad:
        with pytest.raises(ValidationError, match=message):
            experiment(**fields)
    experiment(proxies=[{**proxies[0], "upstream": "10.1.2.3:6379"}],
               settings={"allow_hosts": ["10.1.2.3"]})  # a staging host, when listed


@pytest.mark.parametrize("entry", ["http://staging.example.com", "staging:8080", "a/b", ""])
def test_allow_hosts_takes_hosts_not_urls(entry: str) -> None:
    with pytest.raises(ValidationError, match="is not a host"):
        experiment(settings={"allow_hosts": [entry]})


def test_load_goes_to_listed_hosts_only() -> None:
    assert check_host("redis://127.0.0.2:1", ["127.0.0.2"]) == "redis://127.0.0.2:1"
    with pytest.raises(LoadError, match=r"settings\.allow_hosts"):
        check_host("http://127.0.0.2:1")
    with pytest.raises(LoadError):
        check_host("http://127.0.0.3:1", ["127.0.0.2"])
    settings = experiment(settings={"allow_hosts": ["127.0.0.2", "staging.local"]}).settings
    assert settings.allows("127.0.0.2") and settings.allows("STAGING.local")
    assert settings.allows("localhost") and not settings.allows("127.0.0.3")
