"""The waitress server `learnhub serve` and `learnhub central serve` run, hardened so that one
client cannot shut the others out (docs/security.md).

Plain waitress 3.0.2 holds at most 100 connections and closes an idle one after 120 s, looked
at every 30 s: one phone holding 100 idle or half-sent sockets stopped the hub for everyone for
two minutes. It also buffers a request body of up to 1 GiB (to a temp file past 512 KB) before
the app may refuse it. Here, with waitress's own threads and loop:

- one address holds at most `per_address` connections; more are accepted and closed at once,
  so they wait in front of nobody, and the total fits a class of phones;
- a connection has `header_timeout` seconds, from connecting or from the first byte of a
  request, to finish that request's headers, however slowly it drips them; between requests
  and during a stalled upload `idle_timeout` applies, and to an answer the client stopped
  reading `send_timeout`, looked at every second;
- a body larger than its route's limit is answered 413 as soon as the headers arrive
  (Content-Length), or as soon as a chunked body passes the limit, and none of it is kept;
- a file answer (`wsgi.file_wrapper` on a regular file) goes from the file to the socket by
  os.sendfile, not copied through Python (hub/web/zerocopy.py);
- a request whose whole answer is kept is answered by the loop as soon as it arrives, not
  queued for a worker (hub/web/loop_answers.py).
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from waitress.adjustments import Adjustments
from waitress.buffers import OverflowableBuffer
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import BaseWSGIServer, MultiSocketServer, TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

from hub.core.settings import Config
from hub.web.loop_answers import FindKept, PreparedTask, find_kept
from hub.web.zerocopy import SendfileBuffer, send_file_some, zero_copy

log = logging.getLogger(__name__)

# Connections taken from the listening socket per turn of the loop: a flood of them is
# refused quickly instead of one per turn while an honest client waits behind it.
ACCEPT_BATCH = 64
# How often waitress's maintenance looks for idle connections (its default: 30 s).
MAINTENANCE_SECONDS = 1


@dataclass(frozen=True)
class BodyLimits:
    """Largest request body in bytes: per path prefix (the longest match wins), else default."""

    default: int
    routes: Mapping[str, int] = field(default_factory=dict)

    def for_path(self, path: str) -> int:
        matches = [prefix for prefix in self.routes if path.startswith(prefix)]
        return self.routes[max(matches, key=len)] if matches else self.default


@dataclass(frozen=True)
class Guard:
    connection_limit: int  # open connections in all
    per_address: int  # open connections from one client address
    header_timeout: int  # seconds to finish a request's headers
    idle_timeout: int  # seconds a connection may sit idle between requests or mid-upload
    send_timeout: int  # seconds an answer may wait for its client to read on (a paused video)
    bodies: BodyLimits

    @classmethod
    def from_config(cls, config: Config, routes: Mapping[str, int]) -> Guard:
        return cls(
            connection_limit=config.connection_limit,
            per_address=config.connections_per_address,
            header_timeout=config.header_timeout,
            idle_timeout=config.idle_timeout,
            send_timeout=config.send_timeout,
            bodies=BodyLimits(config.max_body_bytes, routes),
        )


class CappedBuffer(OverflowableBuffer):
    """A chunked body's buffer: keeps nothing past `cap` bytes, and notes that more came."""

    over_cap = False

    def __init__(self, overflow: int, cap: int) -> None:
        super().__init__(overflow)
        self.cap = cap

    def append(self, s: bytes) -> None:
        if self.over_cap or len(self) + len(s) > self.cap:
            self.over_cap = True
            return
        super().append(s)


class BodyTooLarge(RequestEntityTooLarge):
    """waitress's 413, as the JSON error every /api/ call answers with, else in words."""

    def __init__(self, limit: int, path: str) -> None:
        super().__init__(f"The request's body is larger than {limit:,} bytes, the most it may be.")
        self.json = path.startswith("/api/")

    def to_response(self, ident: str | None = None) -> tuple[str, list, bytes]:
        if not self.json:
            return super().to_response(ident)
        error = {"error": {"code": "too_large", "message": self.body}}
        headers = [("Content-Type", "application/json")]
        return f"{self.code} {self.reason}", headers, json.dumps(error).encode()


class GuardedParser(HTTPRequestParser):
    """waitress's request parser, refusing a body over its route's limit before keeping any."""

    capped: CappedBuffer | None = None
    environ_made: dict[str, Any] | None = None  # by the I/O loop (hub/web/loop_answers.py)

    def __init__(
        self, adj: Adjustments, bodies: BodyLimits, on_headers: Callable[[], None]
    ) -> None:
        super().__init__(adj)
        self.bodies = bodies
        self.on_headers = on_headers
        self.body_limit = bodies.default

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        self.body_limit = self.bodies.for_path(self.path)
        if self.chunked:
            self.capped = CappedBuffer(self.adj.inbuf_overflow, self.body_limit)
            self.body_rcv = ChunkedReceiver(self.capped)

    def received(self, data: bytes) -> int:
        in_headers = not self.headers_finished
        consumed = super().received(data)
        if in_headers and self.headers_finished and not self.empty:
            self.on_headers()
            if self.content_length > self.body_limit:  # also answers waitress's own 413
                return self._refuse(data)
        elif self.capped is not None and self.capped.over_cap:
            return self._refuse(data)
        return consumed

    def _refuse(self, data: bytes) -> int:
        self.error = BodyTooLarge(self.body_limit, self.path)
        self.completed = True
        # No "100 Continue" for a body we refuse; waitress would send one and wait for it.
        self.expect_continue = False
        self.close()
        # The rest of what arrived is body, not the next request; the channel reads no more
        # and closes once the 413 is sent.
        return len(data)


class SafeErrorTask(ErrorTask):
    """waitress's own error answers (a malformed request, a body too large) never reach the
    app: they too tell browsers not to guess a type that could run script."""

    def execute(self) -> None:
        self.response_headers.append(("X-Content-Type-Options", "nosniff"))
        super().execute()


class GuardedChannel(HTTPChannel):
    """One client connection: counted against its address, and held to the header deadline."""

    error_task_class = SafeErrorTask
    task_class = PreparedTask
    reading = 0  # the I/O loop's thread while it is in handle_read, else 0
    answer_here = False  # a request read just now has a kept answer: the loop gives it

    def __init__(
        self,
        server: GuardedServer,
        sock: socket.socket,
        addr: Any,
        adj: Adjustments,
        map: dict | None = None,  # waitress names it so
    ) -> None:
        self.peer = addr[0]  # add_channel, called by waitress's __init__, counts it
        self.guard = server.guard
        # Since when the connection owes a request's headers; None while it owes none (being
        # served, receiving a body, or idle between requests, which waitress times).
        self.owes_headers_since: float | None = time.monotonic()
        self.parser_class = functools.partial(
            GuardedParser, bodies=server.guard.bodies, on_headers=self._headers_arrived
        )
        super().__init__(server, sock, addr, adj, map)

    def _headers_arrived(self) -> None:
        self.owes_headers_since = None

    def handle_read(self) -> None:
        self.reading = threading.get_ident()
        try:
            super().handle_read()
        finally:
            self.reading = 0
        if self.answer_here:
            self.answer_here = False
            self.service()  # here, after waitress let go of the channel's requests lock

    def received(self, data: bytes) -> bool:
        # The first byte of a new request starts its clock; an empty line does not reset it.
        if self.request is None and self.owes_headers_since is None:
            self.owes_headers_since = time.monotonic()
        return super().received(data)

    def headers_overdue(self) -> bool:
        since = self.owes_headers_since
        if since is None or self.requests or self.total_outbufs_len:
            return False
        return time.monotonic() - since > self.guard.header_timeout

    def write_soon(self, data: Any) -> int:
        # A task hands over a file wrapper here, in its own thread: the check for a real file
        # is done once, not on every flush.
        return super().write_soon(zero_copy(data))

    def _flush_some(self, do_close: bool = True) -> bool:
        """waitress's flush (send the out-buffers in order, drop each one sent but the last,
        stop when the socket is full), with a file sent by the kernel instead of copied."""
        sent = 0
        while True:
            outbuf = self.outbufs[0]
            if isinstance(outbuf, SendfileBuffer):
                count, drained = self._send_file(outbuf, do_close)
            else:
                count, drained = self._send_copied(outbuf, do_close)
            sent += count
            if not drained or len(self.outbufs) == 1:  # the last is always the one written to
                break
            self._drop_first_outbuf()
        if sent:
            self.last_activity = time.time()  # what the send and idle timeouts look at
        return sent > 0

    def _send_file(self, outbuf: SendfileBuffer, do_close: bool) -> tuple[int, bool]:
        count, gone = send_file_some(outbuf, self.socket.fileno())
        self.total_outbufs_len -= count
        if gone:
            if do_close:  # as waitress's send() does for a client that went away
                self.handle_close()
            return count, False
        return count, not outbuf.remain

    def _send_copied(self, outbuf: Any, do_close: bool) -> tuple[int, bool]:
        """waitress's own loop for one buffer: (bytes sent, whether it is empty now)."""
        sent = 0
        left = outbuf.__len__()  # as waitress: len() overflows past 2 GiB on 32-bit
        while left > 0:
            count = self.send(outbuf.get(self.sendbuf_len), do_close=do_close)
            if not count:
                return sent, False
            outbuf.skip(count, True)
            left -= count
            sent += count
            self.total_outbufs_len -= count
        return sent, True

    def _drop_first_outbuf(self) -> None:
        done = self.outbufs.pop(0)
        try:
            done.close()  # a file wrapper's file is closed here
        except Exception:
            self.logger.exception("Unexpected error when closing an outbuf")

    def add_channel(self, map: dict | None = None) -> None:
        super().add_channel(map)
        self.server.per_address[self.peer] += 1

    def del_channel(self, map: dict | None = None) -> None:
        counted = self.server.active_channels.get(self._fileno) is self
        super().del_channel(map)
        if counted:
            self.server.forget(self.peer)


class GuardedServer(TcpWSGIServer):
    channel_class = GuardedChannel

    def __init__(
        self, app: Any, sockets: dict, guard: Guard, find: FindKept | None = None, **kw: Any
    ) -> None:
        self.guard = guard
        self.find_kept = find
        self.per_address: Counter[str] = Counter()
        self.refusing: set[str] = set()  # addresses at their share, logged once each time
        super().__init__(app, sockets, **kw)

    def forget(self, peer: str) -> None:
        self.per_address[peer] -= 1
        if self.per_address[peer] < self.guard.per_address:
            self.refusing.discard(peer)
        if self.per_address[peer] <= 0:
            del self.per_address[peer]

    def refuse(self, conn: socket.socket, peer: str) -> None:
        conn.close()  # over its share: it waits for no slot, and blocks nobody's
        if peer not in self.refusing:
            self.refusing.add(peer)
            log.warning(
                "%s holds %d connections; more from it are closed until some end "
                "(setting connections_per_address)",
                peer,
                self.guard.per_address,
            )

    def add_task(self, channel: Any) -> None:
        # waitress calls this from the I/O loop when a request has arrived whole, and from a
        # worker for the next of several sent at once: those always go to the workers (the
        # loop may be reading the same channel then, and would not see the mark in time).
        if (
            self.find_kept is not None
            and channel.reading == threading.get_ident()
            and find_kept(channel, self.find_kept)
        ):
            channel.answer_here = True
            return
        super().add_task(channel)

    def maintenance(self, now: float) -> None:
        """waitress's idle check (every MAINTENANCE_SECONDS), with a longer wait for an answer
        its client stopped reading (a paused video resumes on the same connection), and the
        headers' deadline."""
        for channel in self.active_channels.values():
            sending = channel.total_outbufs_len > 0
            timeout = self.guard.send_timeout if sending else self.guard.idle_timeout
            if not channel.requests and channel.last_activity < now - timeout:
                channel.will_close = True
            # Here, once a second, not in each channel's readable(): the loop asks every
            # channel that on every turn, a dozen times a request with a class connected.
            if channel.headers_overdue():
                channel.will_close = True  # writable() now answers yes and handle_write closes

    def handle_accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if len(self._map) >= self.adj.connection_limit:
                return  # waitress's readable() stops listening until some close
            accepted = self._accept()
            if accepted is None:
                return
            conn, addr = accepted
            if self.per_address[addr[0]] >= self.guard.per_address:
                self.refuse(conn, addr[0])
                continue
            self.channel_class(self, conn, addr, self.adj, map=self._map)

    def _accept(self) -> tuple[socket.socket, Any] | None:
        """The next waiting connection with waitress's socket options, or None when none is.
        A connection that broke before we took it is skipped, as waitress does."""
        while True:
            try:
                accepted = self.accept()
            except OSError:
                return None
            if accepted is None:
                return None
            try:
                self.set_socket_options(accepted[0])
            except OSError:
                accepted[0].close()
                continue
            return accepted


def create_server(
    app: Any,
    *,
    host: str,
    port: int,
    threads: int,
    ident: str,
    guard: Guard,
    find: FindKept | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """waitress.create_server's TCP path, with GuardedServer; binding errors are OSError.
    `find` looks up a request's kept answer for the I/O loop to give (loop_answers.py)."""
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident=ident,
        connection_limit=guard.connection_limit,
        cleanup_interval=MAINTENANCE_SECONDS,
        # select() cannot watch a descriptor above 1023; poll() has no such limit.
        asyncore_use_poll=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    sockets: dict = {}
    servers = [
        GuardedServer(app, sockets, guard, find, dispatcher=dispatcher, adj=adj, sockinfo=info)
        for info in adj.listen
    ]
    if len(servers) == 1:
        return servers[0]
    listening = [(server.effective_host, server.effective_port) for server in servers]
    return MultiSocketServer(sockets, adj, listening, dispatcher, servers[-1].log_info)
