"""A tiny HTTP service for the docker platform tests: standard library only.

It must run inside a container that has nothing but the interpreter, so it
imports nothing outside the standard library. ``/health`` answers 200;
``/call`` calls every upstream's ``/health`` (the env contract's
``CHAOSKIT_UPSTREAMS``) and reports which answered, so a test can see that an
instance reaches its dependencies at their 127.0.0.1 URLs from inside a container.
``/crash`` answers, then exits with code 7.
"""

from __future__ import annotations

import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, {"instance": os.environ["CHAOSKIT_INSTANCE"], "pid": os.getpid()})
        elif self.path == "/call":
            upstreams = json.loads(os.environ.get("CHAOSKIT_UPSTREAMS", "{}"))
            answers = {}
            for entries in upstreams.values():
                for entry in entries:
                    try:
                        with urllib.request.urlopen(entry["url"] + "/health", timeout=2) as r:
                            answers[entry["instance"]] = r.status
                    except OSError as error:
                        answers[entry["instance"]] = str(error)
            self._reply(200, answers)
        elif self.path == "/crash":
            # A crash of the instance's own making: answer, then die with a non-zero code.
            self._reply(200, {"crashing": True})
            self.wfile.flush()
            os._exit(7)
        else:
            self._reply(404, {})

    def _reply(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    # Proves the data directory is writable from inside the container.
    data = Path(os.environ["CHAOSKIT_DATA_DIR"])
    (data / "started").write_text(str(os.getpid()))
    server = ThreadingHTTPServer((os.environ["CHAOSKIT_HOST"], int(os.environ["CHAOSKIT_PORT"])),
                                 Handler)
    print(f"listening on {server.server_address}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
