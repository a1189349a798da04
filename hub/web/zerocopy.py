"""A `wsgi.file_wrapper` answer sent by the kernel from the file to the socket (os.sendfile).

waitress copies a wrapped file through Python: read a socket buffer's worth, send it, seek
back, seek on. That copy held the hub's 1 MiB video at under a quarter of nginx's bytes/s on
the same machine. `hub.web.server.GuardedChannel` hands a wrapper on a regular file to
`send_file_some` instead; anything else (BytesIO, pipes, generators) goes waitress's way.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from typing import Any

from waitress.buffers import ReadOnlyFileBasedBuffer

# The most one flush sends from one file: a fast reader on loopback would otherwise keep the
# I/O loop on its file while the other connections wait (nginx's sendfile_max_chunk, 2m).
MAX_PER_FLUSH = 2 * 1024 * 1024
# The errors waitress's dispatcher.send takes for a client that went away (not a fault).
DISCONNECTED = frozenset(
    (
        errno.ECONNRESET,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EBADF,
    )
)


class SendfileBuffer(ReadOnlyFileBasedBuffer):
    """A wrapper's file, from its current position for `remain` bytes (a Range answer seeks
    and sets both), with the descriptor the kernel reads it by."""

    def __init__(self, wrapped: ReadOnlyFileBasedBuffer, fd: int) -> None:
        super().__init__(wrapped.file, wrapped.block_size)
        self.remain = wrapped.remain
        self.fd = fd

    def send_to(self, sock_fd: int, limit: int) -> int:
        """Bytes sent to the socket (partial when it fills; 0 when the file ended before
        `remain`). Raises BlockingIOError when the socket takes nothing now."""
        count = os.sendfile(sock_fd, self.fd, self.file.tell(), min(self.remain, limit))
        # The file's position and `remain` move on as waitress's own skip() would move them.
        self.skip(count)
        return count


def zero_copy(data: object) -> object:
    """`data` as a SendfileBuffer when it wraps a regular file, else `data` itself."""
    if not isinstance(data, ReadOnlyFileBasedBuffer) or isinstance(data, SendfileBuffer):
        return data
    fd = _regular_file_fd(data.file)
    return data if fd is None else SendfileBuffer(data, fd)


def _regular_file_fd(file: Any) -> int | None:
    try:
        fd = file.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except (AttributeError, OSError, io.UnsupportedOperation):  # BytesIO and the like
        return None
    # The position is read with tell(); a wrapper without it is iterated by waitress anyway.
    return fd if regular and hasattr(file, "tell") else None


def send_file_some(buffer: SendfileBuffer, sock_fd: int) -> tuple[int, bool]:
    """(bytes sent, whether the socket went away) for one flush of `buffer`, up to
    MAX_PER_FLUSH, stopping when the socket is full. The caller decides on closing."""
    sent = 0
    while buffer.remain and sent < MAX_PER_FLUSH:
        try:
            count = buffer.send_to(sock_fd, MAX_PER_FLUSH - sent)
        except BlockingIOError:
            break
        except OSError as err:
            if err.errno in DISCONNECTED:
                return sent, True
            raise
        if not count:
            raise EOFError(f"the file ended {buffer.remain} bytes before its Content-Length")
        sent += count
    return sent, False
