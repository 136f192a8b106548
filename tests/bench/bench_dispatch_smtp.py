"""A counting SMTP server for the dispatch benchmark, run as its own process.

``python tests/bench/bench_dispatch_smtp.py PORT OUTFILE`` listens on 127.0.0.1:PORT, accepts
every message, and appends its Message-ID to OUTFILE (one per line, flushed before the 250 reply,
so a message the dispatcher saw accepted is always counted). It stops on SIGTERM.

Its own process, so that the server's CPU does not steal time from the dispatcher's interpreter
the way a thread inside the benchmark would (the machine has two cores).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from typing import Any

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class CountingHandler:
    def __init__(self, out: Any) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        match = MESSAGE_ID.search(headers)
        self.out.write((match.group(1) if match else b"<none>") + b"\n")
        self.out.flush()
        return "250 OK"


def main(port: int, path: str) -> None:
    from aiosmtpd.controller import Controller

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open(path, "ab") as out:
        controller = Controller(CountingHandler(out), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        stop.wait()
        controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
