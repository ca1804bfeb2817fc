"""The HTTP API, endpoint by endpoint: status codes and bodies, on both servers."""

from __future__ import annotations

import socket

import pytest

from tests.integration.proxy.proxy_sockets import Server, TcpServer

pytestmark = pytest.mark.integration

ERROR_KEYS = {"error", "status"}


def error_of(response: object) -> dict[str, object]:
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert set(body) >= ERROR_KEYS
    return body


def test_version(server: Server) -> None:
    response = server.http.get("/version")
    assert response.status_code == 200
    assert response.text.endswith("\n")
    version = response.json()["version"]
    if server.kind == "embedded":
        assert version == "2.12.0-chaoskit"
    else:
        assert version == "git" or version.startswith("2.")


def test_create_proxy_normalises_listen(server: Server, echo_server: TcpServer) -> None:
    response = server.http.post("/proxies", json={"name": "p", "listen": "localhost:0",
                                                  "upstream": echo_server.address})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["name", "listen", "upstream", "enabled", "Logger", "toxics"]
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert body["enabled"] is True and body["toxics"] == [] and body["Logger"] == {}
    assert server.http.get("/proxies/p").json() == body
    assert server.http.get("/proxies").json() == {"p": body}


def test_empty_index_is_an_object(server: Server) -> None:
    response = server.http.get("/proxies")
    assert response.status_code == 200 and response.json() == {}


def test_create_disabled_keeps_listen_unresolved(server: Server, echo_server: TcpServer) -> None:
    body = server.create("p", echo_server.address, enabled=False)
    assert body["enabled"] is False and body["listen"] == "127.0.0.1:0"


@pytest.mark.parametrize(("payload", "message"), [
    ({"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}, "missing required field: name"),
    ({"name": "p", "listen": "127.0.0.1:0"}, "missing required field: upstream"),
])
def test_create_proxy_missing_field(server: Server, payload: dict[str, str],
                                    message: str) -> None:
    response = server.http.post("/proxies", json=payload)
    assert response.status_code == 400
    assert error_of(response) == {"error": message, "status": 400}


def test_create_proxy_bad_json(server: Server) -> None:
    response = server.http.post("/proxies", content=b"{not json")
    assert response.status_code == 400
    assert str(error_of(response)["error"]).startswith("bad request body")


def test_create_proxy_twice_conflicts(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    response = server.http.post("/proxies", json={"name": "p", "upstream": echo_server.address,
                                                  "listen": "127.0.0.1:0"})
    assert response.status_code == 409
    assert error_of(response) == {"error": "proxy already exists", "status": 409}


def test_create_proxy_on_a_taken_port_is_500(server: Server, echo_server: TcpServer) -> None:
    response = server.http.post("/proxies", json={"name": "p", "upstream": "127.0.0.1:1",
                                                  "listen": echo_server.address})
    assert response.status_code == 500
    body = error_of(response)
    assert body["status"] == 500 and "address already in use" in str(body["error"])
    assert server.http.get("/proxies").json() == {}


def test_missing_proxy_is_404(server: Server) -> None:
    for method, path in [("GET", "/proxies/nope"), ("DELETE", "/proxies/nope"),
                         ("GET", "/proxies/nope/toxics")]:
        response = server.http.request(method, path)
        assert response.status_code == 404
        assert error_of(response) == {"error": "proxy not found", "status": 404}


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_update_proxy_enabled_only(server: Server, echo_server: TcpServer, method: str) -> None:
    created = server.create("p", echo_server.address)
    response = server.http.request(method, "/proxies/p", json={"enabled": False})
    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is False
    assert body["listen"] == created["listen"] and body["upstream"] == echo_server.address


def test_update_proxy_empty_body_is_400(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    response = server.http.patch("/proxies/p", content=b"")
    assert response.status_code == 400
    assert error_of(response)["error"] == "bad request body: EOF"


def test_update_proxy_upstream(server: Server, echo_server: TcpServer) -> None:
    server.create("p", "127.0.0.1:1")
    body = server.http.patch("/proxies/p", json={"upstream": echo_server.address}).json()
    assert body["upstream"] == echo_server.address and body["enabled"] is True


def test_delete_proxy(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    response = server.http.delete("/proxies/p")
    assert response.status_code == 204 and response.content == b""
    assert server.http.get("/proxies/p").status_code == 404


def test_toxic_defaults(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    response = server.http.post("/proxies/p/toxics",
                                json={"type": "latency", "attributes": {"latency": 10}})
    assert response.status_code == 200  # not 201, as Toxiproxy
    body = response.json()
    assert list(body) == ["attributes", "name", "type", "stream", "toxicity"]
    assert body == {"attributes": {"latency": 10, "jitter": 0}, "name": "latency_downstream",
                    "type": "latency", "stream": "downstream", "toxicity": 1}
    assert server.http.get("/proxies/p/toxics").json() == [body]
    assert server.http.get("/proxies/p/toxics/latency_downstream").json() == body
    assert server.http.get("/proxies/p").json()["toxics"] == [body]


@pytest.mark.parametrize(("toxic", "status", "message"), [
    ({"type": "latency", "stream": "sideways"}, 400,
     "stream was invalid, can be either upstream or downstream"),
    ({"type": "latency", "stream": ""}, 400,
     "stream was invalid, can be either upstream or downstream"),
    ({"type": "frobnicate"}, 400, "invalid toxic type"),
    ({"type": ""}, 400, "invalid toxic type"),
])
def test_toxic_create_rejected(server: Server, echo_server: TcpServer, toxic: dict[str, str],
                               status: int, message: str) -> None:
    server.create("p", echo_server.address)
    response = server.http.post("/proxies/p/toxics", json=toxic)
    assert response.status_code == status
    assert error_of(response) == {"error": message, "status": status}


def test_toxic_names_are_unique_across_streams(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    server.add_toxic("p", name="t", type="latency", stream="upstream")
    response = server.http.post("/proxies/p/toxics",
                                json={"name": "t", "type": "latency", "stream": "downstream"})
    assert response.status_code == 409
    assert error_of(response) == {"error": "toxic already exists", "status": 409}


def test_stream_is_case_insensitive(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    body = server.add_toxic("p", type="noop", stream="UpStream")
    # Both echo the spelling given, and the default name uses it.
    assert body["stream"] == "UpStream" and body["name"] == "noop_UpStream"
    upstream_first = server.add_toxic("p", type="noop", stream="downstream", name="d")
    assert [t["name"] for t in server.http.get("/proxies/p/toxics").json()] == [
        "noop_UpStream", upstream_first["name"]]


def test_json_keys_are_case_insensitive(server: Server, echo_server: TcpServer) -> None:
    response = server.http.post("/proxies", json={"Name": "p", "Upstream": echo_server.address,
                                                  "Listen": "127.0.0.1:0"})
    assert response.status_code == 201
    body = server.add_toxic("p", Type="latency", Attributes={"Latency": 7})
    assert body["attributes"]["latency"] == 7


def test_missing_toxic_is_404(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    for method in ("GET", "DELETE", "PATCH"):
        response = server.http.request(method, "/proxies/p/toxics/nope", json={})
        assert response.status_code == 404
        assert error_of(response) == {"error": "toxic not found", "status": 404}


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_toxic_update_merges(server: Server, echo_server: TcpServer, method: str) -> None:
    server.create("p", echo_server.address)
    server.add_toxic("p", type="latency", toxicity=0.5, attributes={"latency": 10, "jitter": 3})
    response = server.http.request(method, "/proxies/p/toxics/latency_downstream",
                                   json={"attributes": {"latency": 20}})
    assert response.status_code == 200
    body = response.json()
    assert body["attributes"] == {"latency": 20, "jitter": 3}
    assert body["toxicity"] == 0.5
    body = server.http.patch("/proxies/p/toxics/latency_downstream",
                             json={"toxicity": 0.25}).json()
    assert body["toxicity"] == 0.25 and body["attributes"] == {"latency": 20, "jitter": 3}


def test_toxic_delete(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    server.add_toxic("p", type="noop")
    response = server.http.delete("/proxies/p/toxics/noop_downstream")
    assert response.status_code == 204 and response.content == b""
    assert server.http.get("/proxies/p/toxics").json() == []


def test_every_toxic_type_is_accepted(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    attributes = {"latency": {"latency": 1}, "bandwidth": {"rate": 100},
                  "slow_close": {"delay": 1}, "timeout": {"timeout": 1},
                  "reset_peer": {"timeout": 1}, "limit_data": {"bytes": 1},
                  "slicer": {"average_size": 10, "size_variation": 1, "delay": 1}, "noop": {}}
    for kind, attrs in attributes.items():
        body = server.add_toxic("p", type=kind, attributes=attrs)
        assert body["attributes"] == {**body["attributes"], **attrs}


def test_reset(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    server.add_toxic("p", type="latency")
    server.http.patch("/proxies/p", json={"enabled": False})
    response = server.http.post("/reset")
    assert response.status_code == 204 and response.content == b""
    body = server.http.get("/proxies/p").json()
    assert body["enabled"] is True and body["toxics"] == []


def test_populate(server: Server, echo_server: TcpServer) -> None:
    entries = [{"name": "a", "listen": "127.0.0.1:0", "upstream": echo_server.address},
               {"name": "b", "listen": "127.0.0.1:0", "upstream": echo_server.address,
                "enabled": False}]
    response = server.http.post("/populate", json=entries)
    assert response.status_code == 201
    proxies = response.json()["proxies"]
    assert [p["name"] for p in proxies] == ["a", "b"]
    assert [p["enabled"] for p in proxies] == [True, False]
    # Same listen and upstream: left untouched, toxics kept.
    a = proxies[0]
    server.add_toxic("a", type="noop")
    again = server.http.post("/populate", json=[{"name": "a", "listen": a["listen"],
                                                 "upstream": a["upstream"]}]).json()["proxies"]
    assert again[0]["listen"] == a["listen"] and len(again[0]["toxics"]) == 1


def test_populate_validates_everything_first(server: Server, echo_server: TcpServer) -> None:
    response = server.http.post("/populate", json=[
        {"name": "a", "listen": "127.0.0.1:0", "upstream": echo_server.address},
        {"listen": "127.0.0.1:0", "upstream": echo_server.address}])
    assert response.status_code == 400
    assert error_of(response)["error"] == "missing required field: name at proxy 2"
    assert server.http.get("/proxies").json() == {}


def test_populate_empty(server: Server) -> None:
    response = server.http.post("/populate", json=[])
    assert response.status_code == 201 and response.json() == {"proxies": None}


def test_populate_stops_at_first_failure(server: Server, echo_server: TcpServer) -> None:
    response = server.http.post("/populate", json=[
        {"name": "a", "listen": "127.0.0.1:0", "upstream": echo_server.address},
        {"name": "b", "listen": echo_server.address, "upstream": echo_server.address}])
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == 500 and [p["name"] for p in body["proxies"]] == ["a"]
    assert list(server.http.get("/proxies").json()) == ["a"]


def test_browser_user_agent_is_forbidden(server: Server) -> None:
    response = server.http.get("/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert response.status_code == 403
    assert response.text.strip() == "User agent not allowed"


def test_request_id_header(server: Server) -> None:
    assert server.http.get("/version").headers.get("X-Toxiproxy-Request-Id")


def test_unknown_path_is_404(server: Server) -> None:
    assert server.http.get("/nope").status_code == 404


# --- where the two servers differ on purpose -------------------------------------------

INVALID = [
    ("bandwidth", {"rate": 0}, 1.0, "rate must be > 0"),
    ("bandwidth", {"rate": -5}, 1.0, "rate must be > 0"),
    ("slicer", {"average_size": 0}, 1.0, "average_size must be >= 1"),
    ("slicer", {"average_size": 10, "size_variation": 10}, 1.0, "size_variation"),
    ("latency", {"latency": -1}, 1.0, "latency must be >= 0"),
    ("timeout", {"timeout": -1}, 1.0, "timeout must be >= 0"),
    ("limit_data", {"bytes": -1}, 1.0, "bytes must be >= 0"),
    ("latency", {"latency": 10}, 1.5, "toxicity must be between 0 and 1"),
    ("latency", {"latency": 10}, -0.1, "toxicity must be between 0 and 1"),
]


@pytest.mark.parametrize(("kind", "attributes", "toxicity", "message"), INVALID)
def test_invalid_attributes(server: Server, echo_server: TcpServer, kind: str,
                            attributes: dict[str, int], toxicity: float, message: str) -> None:
    """Embedded: 400 with the reason. Toxiproxy: accepts it (and would hang or panic on data)."""
    server.create("p", echo_server.address)
    response = server.http.post("/proxies/p/toxics", json={
        "type": kind, "attributes": attributes, "toxicity": toxicity})
    if server.kind == "embedded":
        assert response.status_code == 400
        assert message in str(error_of(response)["error"])
        assert server.http.get("/proxies/p/toxics").json() == []
    else:
        assert response.status_code == 200


def test_invalid_update_is_rejected_by_embedded(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    server.add_toxic("p", type="bandwidth", attributes={"rate": 100})
    response = server.http.patch("/proxies/p/toxics/bandwidth_downstream",
                                 json={"attributes": {"rate": 0}})
    if server.kind == "embedded":
        assert response.status_code == 400
        assert server.http.get("/proxies/p/toxics").json()[0]["attributes"]["rate"] == 100
    else:
        assert response.status_code == 200


def test_error_content_type(server: Server) -> None:
    """Toxiproxy serves its JSON errors as text/plain (http.Error); embedded says JSON."""
    response = server.http.get("/proxies/nope")
    expected = "application/json" if server.kind == "embedded" else "text/plain"
    assert response.headers["Content-Type"].startswith(expected)


def test_server_survives_garbage(server: Server, echo_server: TcpServer) -> None:
    server.create("p", echo_server.address)
    for body in (b"[]", b"42", b"\"x\"", b"null", b"{\"attributes\": 5, \"type\": \"latency\"}",
                 b"{\"type\": \"latency\", \"attributes\": {\"latency\": \"slow\"}}",
                 b"{\"type\": 5}", b"{\"type\": \"latency\", \"toxicity\": \"x\"}"):
        response = server.http.post("/proxies/p/toxics", content=body)
        assert response.status_code in (400, 200), (body, response.text)
    assert server.http.get("/version").status_code == 200
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass
