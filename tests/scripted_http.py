"""A local HTTP server that answers from a script and records every request: for the
client's tests of what it sends and how it reacts (retries, renewals), without a network."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DROP = 0  # a scripted status of 0: close the connection without an answer


@dataclass
class Script:
    """Answers per (method, path), used in order; every request as (method, path, body)."""

    answers: dict[tuple[str, str], list[tuple[int, dict[str, str], bytes]]] = field(
        default_factory=dict
    )
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def scripted_server() -> Iterator[tuple[str, Script]]:
    """The server's root URL and its script."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.seen.append((self.command, self.path, body))
            script.headers.append(dict(self.headers))
            status, headers, payload = script.answers[(self.command, self.path)].pop(0)
            if status == DROP:
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
