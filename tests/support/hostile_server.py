"""A hostile HTTP server on 127.0.0.1 for the fault tests and bench/hostile_inputs.py.

Paths choose the behaviour: ``/trickle`` sends headers then one byte every ``trickle_s``
forever; ``/huge`` streams ``huge_bytes`` of JSON-looking filler without a length;
``/declared`` declares a Content-Length of ``huge_bytes`` and sends little; ``/bomb`` sends
a small gzip body that inflates to ``bomb_bytes``.  Every request is counted.
"""

from __future__ import annotations

import gzip
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


def gzip_bomb(size: int) -> bytes:
    """A gzip body of zeros inflating to ``size`` bytes (about 1,000:1)."""
    out = io.BytesIO()
    block = b"\0" * (1024 * 1024)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as file:
        written = 0
        while written < size:
            part = block[: min(len(block), size - written)]
            file.write(part)
            written += len(part)
    return out.getvalue()


class HostileServer:
    def __init__(self, *, trickle_s: float = 0.2, huge_bytes: int = 50 * 1024 * 1024, bomb_bytes: int = 0) -> None:
        self.trickle_s = trickle_s
        self.huge_bytes = huge_bytes
        self.bomb = gzip_bomb(bomb_bytes) if bomb_bytes else b""
        self.stopping = threading.Event()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                path = self.path.split("?")[0]
                try:
                    if "/trickle" in path:
                        self._start(None)
                        self.wfile.write(b'{"resourceSpans": [')
                        while not server.stopping.is_set():
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(server.trickle_s)
                    elif "/huge" in path:
                        self._start(None)
                        chunk = b" " * (256 * 1024)
                        self.wfile.write(b'{"resourceSpans": [')
                        sent = 0
                        while sent < server.huge_bytes and not server.stopping.is_set():
                            self.wfile.write(chunk)
                            sent += len(chunk)
                    elif "/declared" in path:
                        self._start(server.huge_bytes)
                        self.wfile.write(b"{}")
                    elif "/bomb" in path:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Encoding", "gzip")
                        self.send_header("Content-Length", str(len(server.bomb)))
                        self.end_headers()
                        self.wfile.write(server.bomb)
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _start(self, length: int | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if length is not None:
                    self.send_header("Content-Length", str(length))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
