"""A tiny instance for the platform tests: stdlib only, configured by environment.

Serves ``/health`` (200, or 503 forever with ``ECHO_NEVER_HEALTHY=1``) and
``/crash`` (answers, then exits with code 7: a crash of the instance's own making)
on ``CHAOSKIT_HOST:CHAOSKIT_PORT``. ``ECHO_EXIT_AT_START=N`` exits at once with
code N; ``ECHO_IGNORE_TERM=1`` ignores SIGTERM, as a hung shutdown would.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = time.time()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/crash":
            self._answer(200, {"crashing": True})
            # Exit from another thread once the answer is out: os._exit skips cleanup,
            # as a real crash would.
            threading.Timer(0.05, os._exit, args=(7,)).start()
            return
        if self.path == "/health":
            healthy = os.environ.get("ECHO_NEVER_HEALTHY") != "1"
            self._answer(200 if healthy else 503, {
                "instance": os.environ["CHAOSKIT_INSTANCE"], "pid": os.getpid(),
                "started": START})
            return
        self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the instance log to the lines the tests read


def main() -> None:
    print(f"echo {os.environ['CHAOSKIT_INSTANCE']} started {START:.6f}", flush=True)
    if os.environ.get("ECHO_EXIT_AT_START"):
        print("echo: told to fail at start", file=sys.stderr, flush=True)
        sys.exit(int(os.environ["ECHO_EXIT_AT_START"]))
    if os.environ.get("ECHO_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = ThreadingHTTPServer((os.environ["CHAOSKIT_HOST"], int(os.environ["CHAOSKIT_PORT"])),
                                 Handler)
    print(f"echo {os.environ['CHAOSKIT_INSTANCE']} listening {time.time():.6f}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
