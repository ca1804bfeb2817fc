"""The topology model for a user's own system: zones:, named ports, health kinds, files,
defences, and load.target."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chaoskit.cli import main
from chaoskit.model import Experiment
from chaoskit.model.defences import unknown_defences
from chaoskit.model.topology import (
    CommandHealth,
    Dependency,
    HttpHealth,
    Service,
    TcpHealth,
    Topology,
    plan_instances,
)

REGIONS = [{"name": "r1", "zones": ["a", "b", "c"]}, {"name": "r2", "zones": ["d", "e"]}]


def topology(*services: dict[str, Any], api: dict[str, Any] | None = None,
             **changes: Any) -> Topology:
    """An api in every zone (the entrypoint, with ``api`` fields), then ``services``."""
    first = {"name": "api", "command": ["api"], **(api or {})}
    data: dict[str, Any] = {"name": "own", "regions": REGIONS, "entrypoint": "api",
                            "services": [first, *services]}
    data.update(changes)
    return Topology.model_validate(data)


def service(**fields: Any) -> Service:
    return Service.model_validate({"name": "db", "command": ["db"], **fields})


def placed(top: Topology, name: str) -> list[tuple[str, str, str]]:
    return [(i.id, i.zone, i.region) for i in plan_instances(top) if i.service == name]


# --- zones -------------------------------------------------------------------------------


def test_scope_zone_with_zones_places_one_per_chosen_zone_across_regions() -> None:
    top = topology({"name": "db", "command": ["db"], "zones": ["c", "a", "e"]})
    # In the regions' zone order, not the order zones: lists them.
    assert placed(top, "db") == [("db-a-0", "a", "r1"), ("db-c-0", "c", "r1"),
                                 ("db-e-0", "e", "r2")]
    assert len(placed(top, "api")) == 5  # the others are untouched


def test_scope_zone_replicas_in_chosen_zones() -> None:
    top = topology({"name": "db", "command": ["db"], "zones": ["b"], "replicas": 2})
    assert placed(top, "db") == [("db-b-0", "b", "r1"), ("db-b-1", "b", "r1")]


@pytest.mark.parametrize(("replicas", "zones", "expected"), [
    (5, None, {"a": 2, "b": 2, "c": 1}),
    (3, None, {"a": 1, "b": 1, "c": 1}),
    (4, ["a", "c"], {"a": 2, "c": 2}),
    (5, ["b", "c"], {"b": 3, "c": 2}),
    (1, ["c"], {"c": 1}),
])
def test_scope_region_replicas_spread_evenly_over_the_chosen_zones(
    replicas: int, zones: list[str] | None, expected: dict[str, int]
) -> None:
    top = topology({"name": "db", "command": ["db"], "scope": "region", "regions": ["r1"],
                    "replicas": replicas, "zones": zones})
    instances = placed(top, "db")
    assert Counter(zone for _, zone, _ in instances) == expected
    assert [i for i, _, _ in instances] == [f"db-r1-{n}" for n in range(replicas)]
    counts = Counter(zone for _, zone, _ in instances).values()
    assert max(counts) - min(counts) <= 1


def test_scope_region_with_zones_of_one_region_skips_the_other() -> None:
    top = topology({"name": "db", "command": ["db"], "scope": "region", "replicas": 2,
                    "zones": ["d"]})
    assert placed(top, "db") == [("db-r2-0", "d", "r2"), ("db-r2-1", "d", "r2")]


def test_an_unknown_zone_is_an_error() -> None:
    with pytest.raises(ValidationError, match=r"service 'db' is placed in unknown zone 'x'; "
                                              r"expected some of \['a', 'b', 'c', 'd', 'e'\]"):
        topology({"name": "db", "command": ["db"], "zones": ["a", "x"]})


def test_a_zone_of_a_region_the_service_is_not_in_is_unknown() -> None:
    with pytest.raises(ValidationError, match=r"unknown zone 'd'; expected some of "
                                              r"\['a', 'b', 'c'\]"):
        topology({"name": "db", "command": ["db"], "regions": ["r1"], "zones": ["d"]})


def test_global_with_zones_is_an_error() -> None:
    with pytest.raises(ValidationError, match="service 'db' is global: it has no zones to choose"):
        topology({"name": "db", "command": ["db"], "scope": "global", "zones": ["a"]})


def test_zones_may_not_be_empty() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        service(zones=[])


# --- ports -------------------------------------------------------------------------------


def test_ports_default_to_http_and_keep_their_order() -> None:
    assert service().ports == ("http",)
    assert service(ports=["client", "peer", "metrics_2"]).ports == ("client", "peer", "metrics_2")


@pytest.mark.parametrize("name", ["Client", "2nd", "peer-port", "", "_x", "a b"])
def test_bad_port_names(name: str) -> None:
    with pytest.raises(ValidationError, match=f"port name {name!r} must be lowercase letters"):
        service(ports=["client", name])


def test_duplicate_port_names() -> None:
    with pytest.raises(ValidationError, match=r"port names repeat: \['client', 'peer', 'client'\]"):
        service(ports=["client", "peer", "client"])


def test_no_ports_or_too_many() -> None:
    with pytest.raises(ValidationError):
        service(ports=[])
    with pytest.raises(ValidationError):
        service(ports=[f"p{i}" for i in range(17)])


# --- health ------------------------------------------------------------------------------


def test_health_default_and_shorthands() -> None:
    assert service().health == HttpHealth(http="/health")
    assert service(health="/status").health == HttpHealth(http="/status")
    assert service(health="none").health is None
    assert service(health=None).health is None
    assert service(ports=["client"], health={"tcp": "client"}).health == TcpHealth(tcp="client")
    assert service(health={"command": ["true"]}).health == CommandHealth(command=("true",))
    assert service(ports=["a", "b"], health={"http": "/x", "port": "b"}).health == HttpHealth(
        http="/x", port="b")


def test_health_port_is_the_named_one_or_the_first() -> None:
    assert service(ports=["client", "peer"]).health_port == "client"
    assert service(ports=["client", "peer"], health={"tcp": "peer"}).health_port == "peer"
    assert service(ports=["client", "peer"],
                   health={"http": "/h", "port": "peer"}).health_port == "peer"
    assert service(ports=["client", "peer"], health="none").health_port == "client"
    assert service(ports=["client", "peer"],
                   health={"command": ["true"]}).health_port == "client"


@pytest.mark.parametrize(("health", "message"), [
    ({"grpc": "client"}, "expected exactly one health kind of http, tcp, command (or none), "
                         "got keys ['grpc']"),
    ({}, "expected exactly one health kind"),
    ({"http": "/h", "tcp": "client"}, "got keys ['http', 'tcp']"),
    ({"http": "health"}, "http health: http: String should match pattern '^/'"),
    ({"command": []}, "command health: command: "),
    ({"tcp": "client", "timeout": 1}, "tcp health: timeout: Extra inputs are not permitted"),
])
def test_unknown_or_malformed_health(health: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        service(ports=["client"], health=health)
    assert message in str(info.value)


@pytest.mark.parametrize("health", [{"tcp": "peer"}, {"http": "/health", "port": "peer"}])
def test_health_naming_an_unknown_port(health: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="health names unknown port 'peer'; "
                                              "expected one of client, admin"):
        service(ports=["client", "admin"], health=health)


# --- files -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../x", "/etc/x", "conf/../../x", "a/../../etc/passwd",
                                  "..", "", "conf/"])
def test_files_may_not_escape_the_data_dir(path: str) -> None:
    with pytest.raises(ValidationError, match="must be a relative path inside the instance's "
                                              "data dir"):
        service(files={"ok.conf": "", path: "x"})


def test_files_inside_the_data_dir_are_fine() -> None:
    files = {"redis.conf": "port {{ port }}", "conf.d/a.conf": "", "./b": "", ".hidden": ""}
    assert service(files=files).files == files


# --- defences ----------------------------------------------------------------------------


def defended(**defences: Any) -> Topology:
    return topology(
        {"name": "db", "command": ["db"]},
        {"name": "sentinel", "command": ["s"], "scope": "global",
         "depends_on": [{"service": "db", "locality": "global"}]},
        {"name": "cache", "command": ["c"], "depends_on": ["db"]},
        api={"depends_on": ["db", "cache", "sentinel"]}, defences=defences)


def test_defences_declared_and_described() -> None:
    top = defended(sentinel={"description": "promotes a replica", "remove": ["sentinel"]},
                   caching={"remove": ["cache", "sentinel"]}, nothing={})
    assert [(d.name, d.description) for d in top.declared_defences] == [
        ("sentinel", "promotes a replica"), ("caching", "removes cache, sentinel"),
        ("nothing", "removes nothing")]


def test_a_defence_removing_an_unknown_service() -> None:
    with pytest.raises(ValidationError, match=r"defence 'x' removes unknown service\(s\) "
                                              r"\['nosuch'\]; expected some of \['api', "):
        defended(x={"remove": ["cache", "nosuch"]})


def test_a_defence_may_remove_the_entrypoint() -> None:
    # Sentinel is redis-sentinel's entry point, and --disable sentinel removes it.
    top = defended(x={"remove": ["api", "cache"]})
    running = top.without_defences(frozenset({"x"}))
    assert [s.name for s in running.services] == ["db", "sentinel"]


def test_without_defences_drops_services_and_every_edge_to_them() -> None:
    top = defended(sentinel={"remove": ["sentinel"]}, caching={"remove": ["cache"]})
    assert top.without_defences(frozenset()) is top
    assert top.without_defences(frozenset({"retries"})) is top  # a bundled one: nothing here
    running = top.without_defences(frozenset({"caching"}))
    assert [s.name for s in running.services] == ["api", "db", "sentinel"]
    assert running.service("api").depends_on == (Dependency(service="db"),
                                                 Dependency(service="sentinel"))
    assert running.service("sentinel").depends_on == top.service("sentinel").depends_on
    assert not any(i.service == "cache" for i in plan_instances(running))
    both = top.without_defences(frozenset({"caching", "sentinel"}))
    assert [s.name for s in both.services] == ["api", "db"]
    assert both.service("api").depends_on == (Dependency(service="db"),)
    # The declared topology is unchanged, and what runs plans without the removed services.
    assert [s.name for s in top.services] == ["api", "db", "sentinel", "cache"]
    assert {i.service for i in plan_instances(both)} == {"api", "db"}


def test_unknown_defences_knows_bundled_and_declared_names() -> None:
    assert unknown_defences(["retries", "sentinel"], ["sentinel"]) is None
    message = unknown_defences(["sentinal", "retries"], ["sentinel"])
    assert message is not None
    assert message.startswith("unknown defence 'sentinal'; expected some of ")
    assert message.endswith(", sentinel")


# --- load.target -------------------------------------------------------------------------


def experiment(target: dict[str, Any]) -> Experiment:
    top = topology({"name": "db", "command": ["db"], "ports": ["client", "admin"]})
    return Experiment.model_validate({
        "title": "t", "topology": top.model_dump(),
        "load": {"locustfile": "l.py", "target": target},
        "steady_state": [{"name": "ok", "probe": "load.p99_ms", "tolerance": {"max": 1}}]})


def test_load_target_port_must_be_one_of_the_service() -> None:
    assert experiment({"service": "db", "port": "admin", "scheme": "redis"}).load is not None
    with pytest.raises(ValidationError, match=r"service 'db' has no port "
                                              r"'nope'; expected one of client, admin"):
        experiment({"service": "db", "port": "nope"})


def test_load_target_scheme_is_a_scheme() -> None:
    with pytest.raises(ValidationError, match="scheme"):
        experiment({"service": "db", "scheme": "Not a scheme"})


# --- bad input, as `chaoskit validate` shows it ------------------------------------------

GOOD_TOPOLOGY = """\
name: own
regions:
  - {name: r1, zones: [a, b]}
entrypoint: api
defences:
  caching:
    remove: [cache]
services:
  - name: api
    ports: [http, admin]
    health: {http: /health, port: admin}
    depends_on: [cache]
    command:
      - python
      - -m
      - api
      - "{{ ports.http }}"
    env:
      CACHE: "{% if 'caching' not in disabled %}{{ instances('cache')[0].address }}{% endif %}"
    files:
      api.conf: |
        listen {{ port }}
        admin {{ ports.admin }}
  - name: cache
    ports: [client]
    health: {tcp: client}
    command: [cache-server, "{{ data_dir }}/cache.conf"]
"""
"""Valid; the tests below break one line of it (line numbers are 1-based, as shown)."""

EXPERIMENT = """\
title: own system
topology: topology.yaml
load:
  locustfile: locustfile.py
  env:
    APIS: "{{ instances('api') | map(attribute='address') | join(',') }}"
steady_state:
  - {name: ok, probe: load.p99_ms, tolerance: {max: 500}}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``text`` holding ``needle`` (exactly one does)."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             topology_text: str = GOOD_TOPOLOGY, experiment_text: str = EXPERIMENT
             ) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "topology.yaml").write_text(topology_text)
    (tmp_path / "exp.yaml").write_text(experiment_text)
    (tmp_path / "locustfile.py").write_text("")
    code = main(["validate", "exp.yaml"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    return code, err


def broken(old: str, new: str, text: str = GOOD_TOPOLOGY) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_good_files_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(tmp_path, monkeypatch, capsys) == (0, "")


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ('      - "{{ ports.http }}"', '      - "{{ ports.htp }}"', "services[0].command[3]",
     "no port 'htp'; the ports declared are http, admin"),
    ('      - "{{ ports.http }}"', '      - "{{ prot }}"', "services[0].command[3]",
     "'prot' is undefined (names: data_dir, disabled, host, instance, instances, port, ports, "
     "python, region, service, zone)"),
    ('      - "{{ ports.http }}"', '      - "{{ ports.http }"', "services[0].command[3]",
     "template syntax error on its line 1: "),
    ("instances('cache')[0].address", "instances('cahce')[0].address", "services[0].env.CACHE",
     "instances('cahce'): unknown service; expected one of api, cache"),
    ("instances('cache')[0].address", "instances('cache')[0].ports.peer",
     "services[0].env.CACHE", "no port 'peer'; the ports declared are client"),
    ("        admin {{ ports.admin }}", "        admin {{ ports.nope }}",
     "services[0].files.api.conf", "no port 'nope'; the ports declared are http, admin"),
    ('[cache-server, "{{ data_dir }}/cache.conf"]', '[cache-server, "{{ data_dir() }}"]',
     "services[1].command[1]", "TypeError: "),
], ids=["unknown-port", "unknown-name", "syntax", "unknown-service", "unknown-peer-port",
        "unknown-port-in-file", "misused-name"])
def test_a_template_that_does_not_render_names_its_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    old: str, new: str, field: str, message: str,
) -> None:
    text = broken(old, new)
    code, err = validate(tmp_path, monkeypatch, capsys, text)
    # A file's error is on its key's line (the template is a block below it).
    line = line_of(text, "api.conf: |" if ".files." in field else new.strip())
    assert code == 2
    assert err.startswith(f"chaoskit: topology.yaml:{line}: {field}: {message}"), err


def test_an_error_only_with_a_defence_disabled_is_found_at_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # With caching disabled the cache is not planned: instances('cache') is empty.
    text = broken("{% if 'caching' not in disabled %}{{ instances('cache')[0].address }}"
                  "{% endif %}", "{{ instances('cache')[0].address }}")
    code, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2
    assert err.startswith(f"chaoskit: topology.yaml:{line_of(text, 'CACHE:')}: "
                          "services[0].env.CACHE: "), err




@pytest.mark.parametrize(("old", "new", "at", "field", "message"), [
    ("    health: {tcp: client}", "    health: {grpc: client}", "health: {grpc",
     "services[1].health",
     "expected exactly one health kind of http, tcp, command (or none), got keys ['grpc']"),
    ("    health: {tcp: client}", "    health: {tcp: peer}", "health: {tcp: peer}",
     "services[1].health", "health names unknown port 'peer'; expected one of client"),
    ("    health: {http: /health, port: admin}", "    health: {http: /health, port: admn}",
     "port: admn", "services[0].health",
     "health names unknown port 'admn'; expected one of http, admin"),
    ("    ports: [client]", "    ports: [client, Client]", "ports: [client, Client]",
     "services[1].ports", "port name 'Client' must be lowercase letters"),
    ("    remove: [cache]", "    remove: [cache, nosuch]", "remove: [cache, nosuch]",
     "defences.caching.remove", "defence 'caching' removes unknown service(s) ['nosuch']"),
    ("      api.conf: |", "      ../api.conf: |", "files:", "services[0].files",
     "file '../api.conf' must be a relative path inside the instance's data dir"),
    ("      api.conf: |", "      /etc/api.conf: |", "files:", "services[0].files",
     "file '/etc/api.conf' must be a relative path inside the instance's data dir"),
], ids=["unknown-health-kind", "tcp-health-port", "http-health-port", "bad-port-name",
        "defence-unknown-service", "file-dotdot", "file-absolute"])
def test_bad_topology_input_names_its_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    old: str, new: str, at: str, field: str, message: str,
) -> None:
    text = broken(old, new)
    code, err = validate(tmp_path, monkeypatch, capsys, text)
    assert code == 2
    assert err.startswith(f"chaoskit: topology.yaml:{line_of(text, at)}: {field}: {message}"), err


def test_what_the_imprecise_errors_say_today(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The errors the xfails above want better located still stop validate, exit 2."""
    for old, new in (("    health: {tcp: client}", "    health: {tcp: peer}"),
                     ("    remove: [cache]", "    remove: [cache, nosuch]")):
        code, err = validate(tmp_path, monkeypatch, capsys, broken(old, new))
        assert code == 2 and err.startswith("chaoskit: topology.yaml:"), err
        assert ("unknown port 'peer'" in err) or ("unknown service(s) ['nosuch']" in err)


def test_a_load_env_template_error_names_the_experiment_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    experiment = broken("instances('api')", "instances('apis')", EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith(f"chaoskit: exp.yaml:{line_of(experiment, 'APIS:')}: "
                          "load.env.APIS: instances('apis'): unknown service; "
                          "expected one of api, cache"), err
    # A service a defence removes has no instances when that defence is off: all of them
    # is fine, the first of them is an error.
    experiment = broken("instances('api')", "instances('cache')", EXPERIMENT)
    assert validate(tmp_path, monkeypatch, capsys, experiment_text=experiment) == (0, "")
    experiment = broken("instances('api') | map(attribute='address') | join(',')",
                        "instances('cache')[0].address", EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith(f"chaoskit: exp.yaml:{line_of(experiment, 'APIS:')}: "
                          "load.env.APIS: "), err
    # The load is no instance: its own names are not there.
    experiment = broken("instances('api') | map(attribute='address') | join(',')",
                        "port", EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith(f"chaoskit: exp.yaml:{line_of(experiment, 'APIS:')}: "
                          "load.env.APIS: 'port' is undefined"), err


def test_a_load_target_port_unknown_stops_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    experiment = broken("  env:\n", "  target: {service: cache, port: admin}\n  env:\n",
                        EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith("chaoskit: exp.yaml:"), err
    assert "load.target.port: service 'cache' has no port 'admin'; expected one of client" in err


def test_a_load_target_port_unknown_names_the_experiment_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    experiment = broken("  env:\n", "  target: {service: cache, port: admin}\n  env:\n",
                        EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith(f"chaoskit: exp.yaml:{line_of(experiment, 'target:')}: "
                          "load.target.port: "), err


def test_a_load_target_service_unknown_names_the_experiment_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    experiment = broken("  env:\n", "  target: {service: cahce, scheme: redis}\n  env:\n",
                        EXPERIMENT)
    code, err = validate(tmp_path, monkeypatch, capsys, experiment_text=experiment)
    assert code == 2
    assert err.startswith(f"chaoskit: exp.yaml:{line_of(experiment, 'target:')}: "
                          "load.target.service: unknown service 'cahce'; expected one of "
                          "api, cache"), err
