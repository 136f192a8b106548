"""A real HTTP server on 127.0.0.1 that plays the SMS gateway (``serve_gateway``; the
``gateway`` fixture of tests/distribution/conftest.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Gateway:
    """A real HTTP server that plays the SMS gateway: records each POST, answers ``statuses``
    in turn (then 200), and may wait before answering."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    delay: float = 0.0


@contextmanager
def serve_gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real gateways do

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": body}
            )
            if state.delay:
                time.sleep(state.delay)
            status, text = state.statuses.pop(0) if state.statuses else (200, '{"id": "m1"}')
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}/v1/messages?account=memnun"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
