"""Kept answers given by the server's I/O loop itself.

A request whose whole answer is kept (hub/web/kept_responses.py: a visitor's lesson page,
search or suggestion asked before) costs the app a few microseconds, but waitress queued it
for a worker thread like any other: behind every slow page ahead of it, and through two
hand-overs of the interpreter lock. The loop now looks the answer up as soon as a request
arrives and, when it is kept, answers it before reading on (`GuardedChannel.handle_read`),
so a class typing the same first letters or opening the same lesson is answered at once
whatever the workers are busy with. The lookup never builds an answer and never waits on
the database (`GenerationCache.peek`); anything else goes to the workers as before.

The environ the loop made for the lookup is the one the request is served with, and the
answer found travels in it (`GIVEN`), so the app gives exactly what was found even if the
cache dropped it meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waitress.task import WSGITask

from hub.web.kept_responses import GIVEN

Environ = dict[str, Any]
FindKept = Callable[[Environ], Any]


class PreparedTask(WSGITask):
    """waitress's task, serving the request with the environ the loop made for it, if any."""

    def get_environment(self) -> Environ:
        made: Environ | None = getattr(self.request, "environ_made", None)
        if made is None:
            return super().get_environment()
        self.environ = made  # as waitress keeps the one it makes
        return made


def find_kept(channel: Any, find: FindKept) -> bool:
    """Whether the channel's one waiting request has a kept answer; if so, the request takes
    the environ and the answer with it."""
    if len(channel.requests) != 1 or channel.total_outbufs_len:
        return False  # answers go out in order: one still being sent comes first
    request = channel.requests[0]
    if request.error or request.command != "GET":
        return False
    environ = PreparedTask(channel, request).get_environment()
    request.environ_made = environ
    answer = find(environ)
    if answer is None:
        return False
    environ[GIVEN] = answer
    return True
