"""A hostile HTTP server on 127.0.0.1 for the download tests: per path, an answer that is huge
(streamed, never held in memory here), drips a byte a second, or lies about its length.

Each answer is a function of the request handler; `stop()` ends every drip at once.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PIECE = b"\0" * 65536
MB = 1024**2

Answer = Callable[["Handler", "HostileServer"], None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        hostile = self.server.hostile
        hostile.requests.append(self.path)
        answer = hostile.answers.get(self.path)
        if answer is None:
            return json_answer(self, 404, {"error": {"code": "not_found", "message": "No."}})
        with contextlib.suppress(OSError):  # the hub hung up on us: what the tests want
            answer(self, hostile)

    do_POST = do_GET  # the body is left unread: a hostile server answers what it likes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileServer


class HostileServer:
    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self.sent = 0  # body bytes written by the huge and dripping answers
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.hostile = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def json_answer(handler: BaseHTTPRequestHandler, status: int, doc: Any) -> None:
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def good_json(doc: Any) -> Answer:
    return lambda handler, hostile: json_answer(handler, 200, doc)


def huge(size: int, *, declared: str | None = "size", chunked: bool = False) -> Answer:
    """`size` bytes of zeros, written piece by piece. `declared`: "size" sends the true
    Content-Length, a number a false one, None none (then the connection's end marks the
    end, or chunks when `chunked`)."""

    def answer(handler: BaseHTTPRequestHandler, hostile: HostileServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared is not None:
            handler.send_header("Content-Length", str(size) if declared == "size" else declared)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        left = size
        while left > 0 and not hostile.stopping.is_set():
            piece = PIECE[: min(len(PIECE), left)]
            frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            handler.wfile.write(frame)
            hostile.sent += len(piece)
            left -= len(piece)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")
        handler.close_connection = True

    return answer


def drip(*, in_headers: bool = False, declared: int = 100_000) -> Answer:
    """One byte a second, for ever (until the server stops): of the body, or of the headers."""

    def answer(handler: BaseHTTPRequestHandler, hostile: HostileServer) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        if not in_headers:
            handler.wfile.write(b"Content-Length: %d\r\n\r\n" % declared)
        handler.wfile.flush()
        while not hostile.stopping.wait(1.0):
            handler.wfile.write(b"X-Slow: a\r\n" if in_headers else b" ")
            handler.wfile.flush()
            hostile.sent += 1
        handler.close_connection = True

    return answer
