"""An app served over real HTTP in a thread (``serve``), and free localhost ports."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server

from app.serving import RedactingRequestHandler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: Flask


@contextmanager
def serve(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` over real HTTP on a free localhost port, in a thread."""
    # The request handler `memnun run` serves with (a neutral Server header).
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
