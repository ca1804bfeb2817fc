"""Templates in ``command``, ``env`` and ``files``: every documented name, links' addresses,
files written into the data dir, and the errors a template that does not render gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from chaoskit.model.topology import Topology, plan_instances
from chaoskit.platform.base import Launch
from chaoskit.platform.deployment import plan_launches
from chaoskit.proxy.fabric import LinkFabric
from chaoskit.templates import (
    HOST,
    Renderer,
    TemplateError,
    check_load_env,
    check_templates,
    placeholder_ports,
)

UNUSED_API = "http://127.0.0.1:9"
"""Planning links never calls the proxy server's API."""


def topology(**changes: Any) -> Topology:
    """A store in zones a and b (two named ports), an api in every zone calling the store of
    its own zone, and a cache only a defence keeps running."""
    data: dict[str, Any] = {
        "name": "own",
        "regions": [{"name": "r1", "zones": ["a", "b"]}, {"name": "r2", "zones": ["c"]}],
        "entrypoint": "api",
        "defences": {"caching": {"description": "a cache in front", "remove": ["cache"]}},
        "services": [
            {"name": "store", "regions": ["r1"], "ports": ["client", "peer"],
             "command": ["store-server", "--port={{ ports.client }}", "--peer={{ ports.peer }}"],
             "health": {"tcp": "client"}},
            {"name": "cache", "scope": "global", "command": ["cache", "{{ port }}"]},
            {"name": "api", "ports": ["http", "admin"],
             "depends_on": [{"service": "store", "locality": "zone"}],
             "command": ["python", "-m", "api", "{{ port }}"]},
        ],
    }
    data.update(changes)
    return Topology.model_validate(data)


def with_service(name: str, base: Topology | None = None, **fields: Any) -> Topology:
    """``base`` (``topology()``) with one service's fields replaced."""
    services = [s.model_dump() for s in (base or topology()).services]
    for service in services:
        if service["name"] == name:
            service.update(fields)
    return topology(services=services)


def fixed_ports(top: Topology) -> dict[str, dict[str, int]]:
    return placeholder_ports(top)


def launch_of(launches: list[Launch], instance_id: str) -> Launch:
    return next(la for la in launches if la.instance.id == instance_id)


# --- every name --------------------------------------------------------------------------


def test_every_name_of_the_instance_itself(tmp_path: Path) -> None:
    top = topology()
    ports = fixed_ports(top)
    renderer = Renderer(top, ports, disabled=frozenset({"caching", "retries"}),
                        data_dir=lambda i: f"/data/{i.id}")
    store_b = next(i for i in plan_instances(top) if i.id == "store-b-0")
    names = renderer.names(store_b)
    source = ("{{ instance }} {{ service }} {{ zone }} {{ region }} {{ host }} {{ port }} "
              "{{ ports.client }} {{ ports.peer }} {{ data_dir }} {{ disabled | join(',') }} "
              "{{ python }}")
    client, peer = ports["store-b-0"]["client"], ports["store-b-0"]["peer"]
    assert client != peer
    assert renderer.render(source, names, ()) == (
        f"store-b-0 store b r1 127.0.0.1 {client} {client} {peer} /data/store-b-0 "
        f"caching,retries {sys.executable}")


def test_port_is_the_first_named_port_and_ports_has_them_all() -> None:
    top = topology()
    ports = {**fixed_ports(top), "api-c-0": {"http": 4001, "admin": 4002}}
    renderer = Renderer(top, ports)
    api_c = next(i for i in plan_instances(top) if i.id == "api-c-0")
    names = renderer.names(api_c)
    assert renderer.render("{{ port }}|{{ ports.admin }}|{{ ports['http'] }}|"
                           "{{ ports | dictsort | map('first') | join(',') }}", names, ()) == (
        "4001|4002|4001|admin,http")
    assert renderer.render("{{ region }}/{{ zone }}", names, ()) == "r2/c"


def test_instances_of_a_service_with_every_field_in_plan_order() -> None:
    top = topology()
    ports = fixed_ports(top)
    renderer = Renderer(top, ports)
    api_c = next(i for i in plan_instances(top) if i.id == "api-c-0")
    source = ("{% for s in instances('store') %}"
              "{{ s.id }} {{ s.zone }} {{ s.region }} {{ s.host }} {{ s.port }} "
              "{{ s.ports.client }} {{ s.ports.peer }} {{ s.address }};{% endfor %}")
    expected = "".join(
        f"{i} {z} r1 127.0.0.1 {ports[i]['client']} {ports[i]['client']} {ports[i]['peer']} "
        f"127.0.0.1:{ports[i]['client']};"
        for i, z in (("store-a-0", "a"), ("store-b-0", "b")))
    assert renderer.render(source, renderer.names(api_c), ()) == expected


def test_instances_includes_the_instance_itself_and_a_global_service() -> None:
    top = topology()
    ports = fixed_ports(top)
    renderer = Renderer(top, ports)
    store_a = next(i for i in plan_instances(top) if i.id == "store-a-0")
    names = renderer.names(store_a)
    assert renderer.render("{{ instances('store') | map(attribute='id') | join(',') }}",
                           names, ()) == "store-a-0,store-b-0"
    assert renderer.render("{% if instance == instances('store')[0].id %}primary{% else %}"
                           "replica{% endif %}", names, ()) == "primary"
    assert renderer.render("{{ instances('cache')[0].id }} {{ instances('cache')[0].zone }}",
                           names, ()) == "cache-global-0 global"


def test_the_load_sees_every_direct_address_and_no_instance_names() -> None:
    top = topology()
    ports = fixed_ports(top)
    renderer = Renderer(top, ports, disabled=frozenset({"caching"}))
    names = renderer.names(None)
    assert {"instance", "port", "ports", "data_dir", "zone"}.isdisjoint(names)
    assert renderer.render("{{ instances('api') | map(attribute='address') | join(',') }} "
                           "{{ disabled }}", names, ()) == (
        ",".join(f"127.0.0.1:{ports[i]['http']}" for i in ("api-a-0", "api-b-0", "api-c-0"))
        + " ['caching']")


# --- links -------------------------------------------------------------------------------


def test_a_caller_sees_its_links_addresses_and_peers_their_direct_ones(tmp_path: Path) -> None:
    top = with_service(
        "api", files={"upstreams": "{% for s in instances('store') %}{{ s.id }}={{ s.address }} "
                                   "{{ s.host }}:{{ s.port }} {{ s.ports.client }}\n{% endfor %}"})
    top = with_service("store", top, files={
        "peers": "{% for s in instances('store') %}{{ s.id }}={{ s.address }}\n{% endfor %}"})
    fabric = LinkFabric(top, UNUSED_API)
    launches = plan_launches(top, base_dir=".", data_dir=tmp_path,
                             link_address=fabric.link_address, ports=fabric.instance_ports)
    ports = fabric.instance_ports
    link = {(la.caller.id, la.upstream.id): la.listen for la in fabric.links}
    assert set(link) == {("api-a-0", "store-a-0"), ("api-b-0", "store-b-0")}

    lines = (tmp_path / "api-a-0" / "upstreams").read_text().splitlines()
    direct_b = f"127.0.0.1:{ports['store-b-0']['client']}"
    # api-a-0 calls store-a-0 over its link; store-b-0 is out of its zone: no edge, direct.
    assert lines == [
        f"store-a-0={link['api-a-0', 'store-a-0']} {link['api-a-0', 'store-a-0']} "
        f"{ports['store-a-0']['client']}",
        f"store-b-0={direct_b} {direct_b} {ports['store-b-0']['client']}",
    ]
    assert link["api-a-0", "store-a-0"] != f"127.0.0.1:{ports['store-a-0']['client']}"
    # api-c-0 (region r2) reaches no store: every address it sees is direct.
    assert (tmp_path / "api-c-0" / "upstreams").read_text().splitlines()[0].startswith(
        f"store-a-0=127.0.0.1:{ports['store-a-0']['client']} ")
    # Peers of one service have no edge between them: direct addresses, themselves included.
    assert (tmp_path / "store-b-0" / "peers").read_text().splitlines() == [
        f"store-a-0=127.0.0.1:{ports['store-a-0']['client']}",
        f"store-b-0=127.0.0.1:{ports['store-b-0']['client']}",
    ]
    # The link's address and CHAOSKIT_UPSTREAMS agree, and only linked pairs were asked.
    upstreams = json.loads(launch_of(launches, "api-a-0").env["CHAOSKIT_UPSTREAMS"])
    assert upstreams["store"][0]["url"] == f"http://{link['api-a-0', 'store-a-0']}"


# --- plan_launches -----------------------------------------------------------------------


def test_files_are_written_into_the_instance_data_dir(tmp_path: Path) -> None:
    top = with_service("store", files={
        "store.conf": "port {{ ports.client }}\ndir {{ data_dir }}\n",
        "conf.d/peer.conf": "peer {{ ports.peer }} of {{ instance }}",
    }, command=["store-server", "{{ data_dir }}/store.conf"])
    launches = plan_launches(top, base_dir=str(tmp_path), data_dir=tmp_path / "data")
    for instance_id in ("store-a-0", "store-b-0"):
        launch = launch_of(launches, instance_id)
        instance_dir = (tmp_path / "data" / instance_id).absolute()
        assert launch.env["CHAOSKIT_DATA_DIR"] == str(instance_dir)
        assert (instance_dir / "store.conf").read_text() == (
            f"port {launch.ports['client']}\ndir {instance_dir}\n")
        assert (instance_dir / "conf.d" / "peer.conf").read_text() == (
            f"peer {launch.ports['peer']} of {instance_id}")
        assert launch.argv == ("store-server", f"{instance_dir}/store.conf")
    # Only the services that declare files get them.
    assert list((tmp_path / "data" / "api-a-0").iterdir()) == []


def test_command_env_and_the_ports_contract(tmp_path: Path) -> None:
    top = with_service("api", env={"API_ADMIN": "{{ host }}:{{ ports.admin }}",
                                   "API_STORE": "{{ instances('store')[0].ports.peer }}"})
    ports = fixed_ports(top)
    launches = plan_launches(top, base_dir=".", data_dir=tmp_path, ports=ports)
    api = launch_of(launches, "api-b-0")
    assert api.argv == (sys.executable, "-m", "api", str(ports["api-b-0"]["http"]))
    assert api.env["API_ADMIN"] == f"{HOST}:{ports['api-b-0']['admin']}"
    assert api.env["API_STORE"] == str(ports["store-a-0"]["peer"])
    assert json.loads(api.env["CHAOSKIT_PORTS"]) == ports["api-b-0"]
    assert list(json.loads(api.env["CHAOSKIT_PORTS"])) == ["http", "admin"]  # first first
    assert api.env["CHAOSKIT_PORT"] == str(ports["api-b-0"]["http"])
    store = launch_of(launches, "store-a-0")
    assert store.argv == ("store-server", f"--port={ports['store-a-0']['client']}",
                          f"--peer={ports['store-a-0']['peer']}")
    assert dict(store.ports) == ports["store-a-0"]
    assert store.health_port == ports["store-a-0"]["client"]


def test_drawn_ports_are_distinct_per_name_and_instance(tmp_path: Path) -> None:
    top = topology()
    launches = plan_launches(top, base_dir=".", data_dir=tmp_path)
    every = [p for la in launches for p in la.ports.values()]
    assert len(every) == len(set(every)) == 2 * 2 + 1 + 2 * 3
    for launch in launches:
        assert json.loads(launch.env["CHAOSKIT_PORTS"]) == dict(launch.ports)


def test_a_command_health_check_is_rendered_like_the_command(tmp_path: Path) -> None:
    top = with_service("store", health={"command": [
        "python", "-c", "import socket; socket.create_connection(('{{ host }}', {{ port }}), 1)",
        "{{ ports.peer }}", "{{ data_dir }}"]})
    launches = plan_launches(top, base_dir=".", data_dir=tmp_path)
    store = launch_of(launches, "store-b-0")
    assert store.health_command == (
        sys.executable, "-c",
        f"import socket; socket.create_connection(('127.0.0.1', {store.ports['client']}), 1)",
        str(store.ports["peer"]), str((tmp_path / "store-b-0").absolute()))
    assert store.health_target == f"`{' '.join(store.health_command)}`"
    # Other kinds carry no command.
    assert launch_of(launches, "api-a-0").health_command == ()


def test_disabled_switches_a_config_line(tmp_path: Path) -> None:
    conf = ("listen {{ port }}\n"
            "{% if 'caching' not in disabled %}cache {{ instances('cache')[0].address }}\n"
            "{% endif %}")
    top = with_service("api", files={"api.conf": conf})
    launches = plan_launches(top, base_dir=".", data_dir=tmp_path / "on")
    cache = launch_of(launches, "cache-global-0")
    api = launch_of(launches, "api-a-0")
    assert (tmp_path / "on" / "api-a-0" / "api.conf").read_text() == (
        f"listen {api.port}\ncache 127.0.0.1:{cache.port}\n")
    assert api.env["CHAOSKIT_DISABLE"] == ""

    running = top.without_defences(frozenset({"caching"}))
    launches = plan_launches(running, base_dir=".", data_dir=tmp_path / "off",
                             disabled={"caching"})
    assert "cache-global-0" not in [la.instance.id for la in launches]
    api = launch_of(launches, "api-a-0")
    assert (tmp_path / "off" / "api-a-0" / "api.conf").read_text() == f"listen {api.port}\n"
    assert api.env["CHAOSKIT_DISABLE"] == "caching"


# --- errors ------------------------------------------------------------------------------


def errors_of(top: Topology) -> dict[tuple[str | int, ...], str]:
    return {error.loc: error.message for error in check_templates(top)}


def test_an_unknown_name_is_an_error_naming_where_it_sits() -> None:
    top = with_service("api", env={"GOOD": "{{ port }}", "BAD": "{{ prot }}"})
    errors = errors_of(top)
    assert list(errors) == [("services", 2, "env", "BAD")]
    message = errors["services", 2, "env", "BAD"]
    assert message.startswith("'prot' is undefined (names: ")
    assert "instances" in message and "ports" in message


def test_an_unknown_port_name_an_unknown_service_and_a_syntax_error() -> None:
    top = with_service("store", command=["store", "{{ ports.client }}", "{{ ports.nope }}"],
                       env={"PEERS": "{{ instances('nosuch')[0].address }}"},
                       files={"b.conf": "x\n{% if port %}unclosed"})
    errors = errors_of(top)
    assert set(errors) == {("services", 0, "command", 2), ("services", 0, "env", "PEERS"),
                           ("services", 0, "files", "b.conf")}
    assert errors["services", 0, "command", 2] == (
        "no port 'nope'; the ports declared are client, peer")
    assert errors["services", 0, "env", "PEERS"] == (
        "instances('nosuch'): unknown service; expected one of store, cache, api")
    assert errors["services", 0, "files", "b.conf"].startswith(
        "template syntax error on its line 2: ")


def test_every_broken_file_of_one_service_is_reported_at_once() -> None:
    top = with_service("store", files={"a.conf": "{{ nope_a }}", "b.conf": "{{ nope_b }}"})
    assert set(errors_of(top)) == {("services", 0, "files", "a.conf"),
                                   ("services", 0, "files", "b.conf")}


def test_a_peer_port_that_does_not_exist_is_an_error() -> None:
    top = with_service("api", command=["api", "{{ instances('store')[0].ports.http }}"])
    assert errors_of(top) == {
        ("services", 2, "command", 1): "no port 'http'; the ports declared are client, peer"}


def test_a_command_health_template_is_checked_when_planned(tmp_path: Path) -> None:
    top = with_service("store", health={"command": ["check", "{{ ports.nope }}"]})
    with pytest.raises(TemplateError) as info:
        plan_launches(top, base_dir=".", data_dir=tmp_path)
    assert info.value.loc == ("services", 0, "health", "command", 1)


def test_an_error_only_in_a_disabled_branch_is_found_with_the_original_index() -> None:
    # With caching disabled, cache is removed: api is services[1] of the running topology,
    # but the error must name services[2] of the declared one.
    top = with_service("api", files={"api.conf": "{% if 'caching' in disabled %}{{ oops }}"
                                                 "{% endif %}"})
    assert list(errors_of(top)) == [("services", 2, "files", "api.conf")]
    # A removed service has no instances: indexing them fails only when its defence is off.
    top = with_service("api", env={"CACHE": "{{ instances('cache')[0].address }}"})
    assert list(errors_of(top)) == [("services", 2, "env", "CACHE")]
    top = with_service("api", env={"CACHE": "{{ instances('cache') | map(attribute='address') "
                                            "| join(',') }}"})
    assert errors_of(top) == {}


def test_strict_undefined_at_render_time() -> None:
    top = topology()
    renderer = Renderer(top, fixed_ports(top))
    api = next(i for i in plan_instances(top) if i.service == "api")
    with pytest.raises(TemplateError) as info:
        renderer.render("{{ zone }}{{ zonee }}", renderer.names(api), ("here", 1))
    assert info.value.loc == ("here", 1)
    assert info.value.message.startswith("'zonee' is undefined")
    with pytest.raises(TemplateError, match="has no attribute 'missing'"):
        renderer.render("{{ instances('api')[0].missing }}", renderer.names(api), ())
    # An unknown name used in a test or a filter is no silent empty string either.
    with pytest.raises(TemplateError):
        renderer.render("{% if nothing is defined and nothing %}x{% endif %}{{ nothing }}",
                        renderer.names(api), ())


def test_a_good_topology_has_no_template_errors() -> None:
    assert check_templates(topology()) == []


def test_load_env_errors_and_names() -> None:
    top = topology()
    good = {"STORES": "{{ instances('store') | map(attribute='address') | join(',') }}",
            "HOST": "{{ host }}"}
    assert check_load_env(top, good) == []
    bad = {**good, "PORT": "{{ port }}", "NOSUCH": "{{ instances('nosuch') }}"}
    errors = {e.loc: e.message for e in check_load_env(top, bad)}
    assert set(errors) == {("load", "env", "PORT"), ("load", "env", "NOSUCH")}
    assert errors["load", "env", "PORT"].startswith("'port' is undefined")
