"""The service the CTK corpus experiments probe: a small HTTP server on 127.0.0.1.

CTK's own fixtures probe ``http://example.com``; the corpus points at this
server instead, passed to each experiment as ``CTK_CORPUS_URL`` (an ``env``
configuration value). Each run gets its own server, so the state the method
changes (``/break``, ``/slowdown``) is never shared between the CTK run and
the chaoskit run of the same experiment.

Endpoints (GET unless said):

- ``/ok``: 200, ``ok 42`` (two digits for CTK's ``[0-9]{2}`` body regex)
- ``/fail``: 500
- ``/status/<code>``: that status
- ``/slow?seconds=S``: 200 after S seconds (at most 5)
- ``/json``: 200, ``application/json`` — the documentation's jsonpath payload
  ``{"foo": [{"baz": "hello"}, {"baz": "bonjour"}], "count": 7, "healthy": true}``
- ``/health``: 200 ``{"healthy": true}`` while healthy, else 503
  ``{"healthy": false}``; slow by the current slowdown
- ``POST /break``, ``POST /heal``: make ``/health`` fail, or answer again
- ``POST /slowdown?seconds=S``: ``/health`` answers S seconds late
- ``/auth``: 200 with ``Authorization: Bearer s3cr3t``, else 401
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

TOKEN = "s3cr3t"
"""The bearer token ``/auth`` accepts; the corpus passes it as an env secret."""

JSON_PAYLOAD = {"foo": [{"baz": "hello"}, {"baz": "bonjour"}], "count": 7, "healthy": True}


class _State:
    def __init__(self) -> None:
        self.healthy = True
        self.slowdown = 0.0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: pytest output is for verdicts, not access logs.
        pass

    def _send(self, status: int, body: bytes | str,
              content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: object) -> None:
        # Exactly "application/json": CTK parses a body only for that Content-Type.
        self._send(status, json.dumps(payload), "application/json")

    def _seconds(self, query: dict[str, list[str]]) -> float:
        return min(5.0, max(0.0, float(query.get("seconds", ["1"])[0])))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        state = self.server.state
        if url.path == "/ok":
            self._send(200, "ok 42")
        elif url.path == "/fail":
            self._send(500, "boom")
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), "status")
        elif url.path == "/slow":
            time.sleep(self._seconds(query))
            self._send(200, "slow ok")
        elif url.path == "/json":
            self._json(200, JSON_PAYLOAD)
        elif url.path == "/health":
            with state.lock:
                healthy, slowdown = state.healthy, state.slowdown
            time.sleep(slowdown)
            self._json(200 if healthy else 503, {"healthy": healthy})
        elif url.path == "/auth":
            ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            self._send(200 if ok else 401, "welcome" if ok else "who are you?")
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        state = self.server.state
        with state.lock:
            if url.path == "/break":
                state.healthy = False
            elif url.path == "/heal":
                state.healthy, state.slowdown = True, 0.0
            elif url.path == "/slowdown":
                state.slowdown = self._seconds(parse_qs(url.query))
            else:
                self._send(404, "not found")
                return
        self._send(200, "done")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that timed out and hung up (the slow-probe experiment does on
        # purpose) is not a server error worth a traceback.
        pass


class CorpusServer:
    """One corpus server on 127.0.0.1 (a free port), served from a thread.

    ``with CorpusServer() as server: server.url`` — stopped on exit, slow
    requests still in flight included (their threads are daemons).
    """

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CorpusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CorpusServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
