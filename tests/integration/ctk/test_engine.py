"""The CTK engine with real processes and a real HTTP server on 127.0.0.1.

- SIGTERM to a real ``chaoskit run`` in the middle of the method: the running
  programs (foreground and background) are killed, the rollbacks still run, the
  journal says ``interrupted`` and the exit code is 130 (CTK would skip the
  rollbacks under its default strategy).
- The http provider against a local server: methods, JSON and form bodies, query
  arguments, headers, ``${}`` substitution, status/JSON-path tolerances, time-outs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chaoskit.ctk import load_ctk
from chaoskit.ctk.engine import CtkRunOptions, run_ctk

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


SLEEPS = ("37.25", "38.25")
"""The method's sleep durations: its programs are recognised by them."""


def _sleeps() -> list[int]:
    """Pids of the method's sleep programs still alive (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1].decode() in SLEEPS:
            found.append(int(entry.name))
    return found


def test_sigterm_mid_method_kills_the_programs_and_still_rolls_back(tmp_path: Path) -> None:
    marker = tmp_path / "rolled-back.txt"
    experiment = {
        "title": "SIGTERM mid-method", "description": "rollbacks run on SIGTERM in chaoskit",
        "method": [
            {"type": "action", "name": "background-sleep", "background": True,
             "provider": {"type": "process", "path": "sleep", "arguments": ["38.25"]}},
            {"type": "action", "name": "sleep", "provider": {"type": "process", "path": "sleep",
                                                             "arguments": ["37.25"]}},
            {"type": "action", "name": "never-reached", "provider": {
                "type": "process", "path": "touch", "arguments": [str(tmp_path / "late")]}},
        ],
        "rollbacks": [{"type": "action", "name": "undo", "pauses": {"before": 1.5},
                       "provider": {"type": "python", "module": "tests.unit.ctk.probes",
                                    "func": "write_text",
                                    "arguments": {"path": str(marker), "text": "undone"}}}],
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHAOSKIT_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen([str(BIN / "chaoskit"), "run", str(path), "--reports",
                                str(tmp_path / "reports")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "action sleep ..." in line:
                break
        else:
            pytest.fail("the method never started: " + "".join(lines))
        deadline = time.monotonic() + 10
        while len(_sleeps()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_sleeps()) == 2
        process.send_signal(signal.SIGTERM)
        while "rollbacks ..." not in (line := process.stdout.readline()) and line:
            lines.append(line)
        # A second signal while the rollbacks run (in their 1.5 s pause) does not stop them.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        output = "".join(lines) + line + output
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in _sleeps():  # only if the run failed to kill them: leave nothing behind
            os.kill(pid, signal.SIGKILL)
    assert process.returncode == 130, output
    assert marker.read_text() == "undone"
    assert not (tmp_path / "late").exists()
    assert _sleeps() == []
    journal = json.loads(next((tmp_path / "reports").glob("*/journal.json")).read_text())
    assert journal["status"] == "interrupted"
    assert [(r["activity"]["name"], r["status"]) for r in journal["rollbacks"]] == [
        ("undo", "succeeded")]
    assert sorted(r["activity"]["name"] for r in journal["run"]) == ["background-sleep", "sleep"]
    assert journal["chaoskit"]["verdict"] == "interrupted"
    notes = journal["chaoskit"]["notes"]
    assert any("CTK skips them" in note for note in notes)
    assert any("SIGTERM received during the rollbacks" in note for note in notes)
    assert "interrupted by SIGTERM" in output


class _Service:
    """A small service the http provider talks to; ``broken`` turns /health into a 503."""

    def __init__(self) -> None:
        self.broken = False
        self.requests: list[dict[str, Any]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service.requests.append({"method": "GET", "path": self.path,
                                         "token": self.headers.get("X-Token")})
                if self.path.startswith("/slow"):
                    time.sleep(1.0)
                if service.broken:
                    self._answer(503, b'{"status": "down"}', "application/json")
                else:
                    self._answer(200, b'{"status": "ok", "items": [1, 2, 3]}',
                                 "application/json")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                service.requests.append({"method": "POST", "path": self.path, "body": body,
                                         "type": self.headers.get("Content-Type")})
                service.broken = self.path == "/break"
                self._answer(200, b"done", "text/plain")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # /slow's client timed out and left, as the test means it to

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def service() -> Iterator[_Service]:
    running = _Service()
    running.thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


def _http_experiment(tmp_path: Path, url: str, method: list[dict[str, Any]]) -> Path:
    data = {
        "title": "http provider", "description": "against a local server",
        "configuration": {"base": url, "token": "t0k"},
        "steady-state-hypothesis": {"title": "healthy", "probes": [
            {"type": "probe", "name": "status", "tolerance": 200,
             "provider": {"type": "http", "url": "${base}/health",
                          "headers": {"X-Token": "${token}"}, "arguments": {"q": "1"}}},
            {"type": "probe", "name": "body", "tolerance": {
                "type": "jsonpath", "path": "$.items[*]", "count": 3, "target": "body"},
             "provider": {"type": "http", "url": "${base}/health", "timeout": [1, 2]}}]},
        "method": method,
        "rollbacks": [{"type": "action", "name": "fix", "provider": {
            "type": "http", "url": "${base}/fix", "method": "POST", "arguments": {"a": "b"}}}],
    }
    path = tmp_path / "http.json"
    path.write_text(json.dumps(data))
    return path


def _run(path: Path) -> Any:
    return run_ctk(load_ctk(path), CtkRunOptions(reports_dir=path.parent / "reports",
                                                 handle_signals=False, quiet=True))


def test_http_provider_judges_a_service_that_breaks(tmp_path: Path, service: _Service) -> None:
    path = _http_experiment(tmp_path, service.url, [
        {"type": "action", "name": "break", "provider": {
            "type": "http", "url": "${base}/break", "method": "POST",
            "headers": {"Content-Type": "application/json"}, "arguments": {"why": "chaos"}}}])
    result = _run(path)
    journal = result.journal
    assert (journal.status, journal.deviated, result.exit_code) == ("completed", True, 1)
    before = journal.steady_states.before
    assert before is not None and [p.tolerance_met for p in before.probes] == [True, True]
    assert before.probes[0].output["body"] == {"status": "ok", "items": [1, 2, 3]}
    after = journal.steady_states.after
    assert after is not None and after.probes[0].output["status"] == 503
    gets = [r for r in service.requests if r["method"] == "GET"]
    assert gets[0] == {"method": "GET", "path": "/health?q=1", "token": "t0k"}
    posts = [r for r in service.requests if r["method"] == "POST"]
    assert posts[0]["body"] == '{"why":"chaos"}' and posts[0]["type"] == "application/json"
    # The rollback ran and sent its arguments as a form.
    assert posts[1] == {"method": "POST", "path": "/fix", "body": "a=b",
                        "type": "application/x-www-form-urlencoded"}
    assert not service.broken


def test_http_timeouts_and_refused_connections_fail_the_activity(tmp_path: Path,
                                                                 service: _Service) -> None:
    path = _http_experiment(tmp_path, service.url, [
        {"type": "probe", "name": "slow", "provider": {
            "type": "http", "url": "${base}/slow", "timeout": 0.2}},
        {"type": "probe", "name": "closed", "provider": {
            "type": "http", "url": "http://127.0.0.1:9/"}}])
    result = _run(path)
    assert (result.journal.status, result.exit_code) == ("completed", 0)
    slow, closed = result.journal.run
    assert slow.status == "failed" and slow.exception is not None
    assert "took too long" in slow.exception[-1]
    assert closed.status == "failed" and closed.exception is not None
    assert "failed to connect to http://127.0.0.1:9/" in closed.exception[-1]
