"""A visitor's repeated request answered from a kept copy of the whole response, before Flask.

A class opens the same lesson, searches for the same words and types the same first letters,
and most of a kept page's cost was Flask itself: routing, the request context, the session,
the after-request hooks and gzip (about 0.5 ms of each request on a 2-core hub, more than half
of a kept page). So a view whose answer is the same for every visitor who sends the same
request marks it (`mark_shareable`), and this middleware keeps the final bytes, headers
and all, and answers the next such request itself.

Only requests that carry nothing personal are answered this way: a GET with no cookie, no
credentials and no conditional or range header. The key is every part of the request such a
view's answer depends on (address, query, host, languages, encodings and media types accepted),
each kept short, so a stranger cannot make the keys hold megabytes. Kept answers live in the
`responses` cache: within its share of `cache_bytes`, least recently used first out, and
dropped when the library changes.

A kept lesson page is about 1.2 KB of gzip, and its headers and key were twice that again:
the same policy, types and accepted languages in every answer, each its own copy. Those
parts are kept once and shared (`Shared`), and an answer is charged only for what is its
own, so the same budget keeps more than twice as many pages.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask.wrappers import Response
from werkzeug.wsgi import wrap_file

from hub.core.db import db
from hub.library.cache import kept_responses

T = TypeVar("T")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Where the server puts an answer it found kept before the request reached the app
# (hub/web/loop_answers.py). Not a header's name: a client cannot set it.
GIVEN = "learnhub.kept_answer"
# The header a view sets on an answer any visitor may be given; removed before it is sent.
MARK = "X-Learnhub-Shareable"
# The request's parts a marked answer may depend on.
KEY_PARTS = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_HOST",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT",
)
KEY_UP_TO = 1024  # characters in all; longer requests are answered by the app, never kept
PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_RANGE")
# Key parts that differ from answer to answer; the others repeat and are shared.
OWN_KEY_PARTS = frozenset({"PATH_INFO", "QUERY_STRING"})
# Headers whose values are each answer's own; the others repeat and are shared whole.
OWN_HEADERS = frozenset({"content-length", "etag", "last-modified"})


def mark_shareable(response: Response) -> Response:
    response.headers[MARK] = "1"
    return response


@dataclass(frozen=True, slots=True)
class Kept:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A marked answer that is a whole file on disk (a library blob, which never changes):
    kept as its headers and the file's path, and sent from the file again each time."""

    status: str
    headers: list[tuple[str, str]]
    path: str


Answer = Kept | KeptFile


class Shared:
    """One copy of each value many kept answers hold (a header, an accepted language), up to
    `limit` values: past it a value is simply not shared, so a stranger's odd headers cannot
    make this grow. The values stay until the process ends: a few hundred at most."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[Hashable, Any] = {}

    def __call__(self, value: T) -> T:
        found = self._values.get(value)
        if found is not None:
            return found
        if len(self._values) < self.limit:
            # setdefault: two threads sharing the same new value keep the same copy.
            return self._values.setdefault(value, value)
        return value

    def holds(self, value: object) -> bool:
        return self._values.get(value) is value


SHARED_UP_TO = 512
shared = Shared(SHARED_UP_TO)


def own_bytes(key: Hashable, answer: Answer) -> int:
    """What keeping this answer costs beyond the parts it shares with other kept answers."""
    assert isinstance(key, tuple)
    own_headers = [header for header in answer.headers if not shared.holds(header)]
    own = [part for part in key if not shared.holds(part)]
    own += [value for header in own_headers for value in header if not shared.holds(value)]
    containers = sys.getsizeof(key) + sys.getsizeof(answer.headers) + sys.getsizeof(answer)
    return (
        containers
        + sum(map(sys.getsizeof, own))
        + sys.getsizeof(answer.body if isinstance(answer, Kept) else answer.path)
        + TUPLE_BYTES * len(own_headers)
    )


TUPLE_BYTES = sys.getsizeof(("name", "value"))


class Passed:
    """An answer the app did not mark: sent as the app made it, never kept."""


PASSED = Passed()


class KeptResponses:
    def __init__(self, app: WSGIApp, on_request: Callable[[], None]) -> None:
        self.app = app
        # What the app does on every request whatever it answers (the hub sees the time).
        self.on_request = on_request

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        given = environ.pop(GIVEN, None)
        if given is not None:
            return self._give(given, environ, start_response)
        key = request_key(environ)
        if key is None:
            return self.app(environ, _unmarked(start_response))
        db.connect(reuse_if_open=True)  # the library's generation may need reading
        made: list[Iterable[bytes]] = []  # the body of an answer the app made just now

        def ask() -> Answer | Passed:
            answer, body = self._ask_app(environ, start_response)
            made.append(body)
            return answer

        answer = kept_responses.get(key, ask, keep=_is_kept, size=_own_bytes_of)
        if not made:
            assert not isinstance(answer, Passed)  # never kept
            return self._give(answer, environ, start_response)
        if not isinstance(answer, Passed):  # the app's start_response was held back
            start_response(answer.status, answer.headers)
        return made[0]

    def kept_answer(self, environ: Environ) -> Answer | None:
        """The kept answer to this request if there is one, found without asking the app or
        the database: the server's I/O loop asks, and gives it back with the request."""
        key = request_key(environ)
        return None if key is None else kept_responses.peek(key)

    def _give(
        self, answer: Answer, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        self.on_request()  # the app was not asked: do what it does for every request
        if isinstance(answer, Kept):
            start_response(answer.status, answer.headers)
            return [answer.body]
        try:
            handle = open(answer.path, "rb")  # noqa: SIM115 - the server closes it when sent
        except OSError:  # gone since it was kept: never given again; the app says what now
            key = request_key(environ)
            if key is not None:
                kept_responses.forget(key)
            return self.app(environ, _unmarked(start_response))
        start_response(answer.status, answer.headers)
        return wrap_file(environ, handle)

    def _ask_app(
        self, environ: Environ, start_response: StartResponse
    ) -> tuple[Answer | Passed, Iterable[bytes]]:
        """The app's answer and body: a Kept or KeptFile when the app marked it, else
        PASSED, its body handed on as it is."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            if not _shareable(status, headers):
                return _unmarked(start_response)(status, headers, exc_info)
            return _never_written  # a marked answer is a buffered body, not written piecemeal

        body = self.app(environ, capture)
        status, headers = seen["status"], seen["headers"]
        if not _shareable(status, headers):
            return PASSED, body
        kept_headers = _kept_headers(headers)
        path = _whole_file(body, headers)
        if path is not None:
            return KeptFile(shared(status), kept_headers, path), body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return Kept(shared(status), kept_headers, data), [data]


def _whole_file(body: Iterable[bytes], headers: list[tuple[str, str]]) -> str | None:
    """The path of the file a file-wrapper body sends whole, from its start; else None."""
    handle = getattr(body, "file", None)
    path = getattr(handle, "name", None)
    if not isinstance(path, str) or handle is None:
        return None
    length = next((v for n, v in headers if n.lower() == "content-length"), None)
    try:
        whole = handle.tell() == 0 and os.fstat(handle.fileno()).st_size == int(length or -1)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return path if whole else None


def _kept_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (shared(name), value) if name.lower() in OWN_HEADERS else shared((name, value))
        for name, value in headers
        if name != MARK
    ]


def _own_bytes_of(key: Hashable, answer: Answer | Passed) -> int:
    assert not isinstance(answer, Passed)  # never kept (_is_kept)
    return own_bytes(key, answer)


def _unmarked(start_response: StartResponse) -> StartResponse:
    """The view's mark is for this middleware alone: never sent, whatever the request."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [(n, v) for n, v in headers if n != MARK], exc_info)

    return start


def _never_written(data: bytes) -> None:
    raise RuntimeError("a shareable answer must be returned, not written")


def _is_kept(answer: Answer | Passed) -> bool:
    return not isinstance(answer, Passed)


def _shareable(status: str, headers: list[tuple[str, str]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return status.startswith("200") and MARK.lower() in names and "set-cookie" not in names


def request_key(environ: Environ) -> tuple[str, ...] | None:
    """The request's key if a kept answer may serve it, else None."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    if any(name in environ for name in PERSONAL) or any(
        name.startswith("HTTP_IF_") for name in environ
    ):
        return None
    parts = tuple(str(environ.get(name, "")) for name in KEY_PARTS)
    if sum(map(len, parts)) > KEY_UP_TO:
        return None
    return (
        "response",
        *(
            part if name in OWN_KEY_PARTS else shared(part)
            for name, part in zip(KEY_PARTS, parts, strict=True)
        ),
    )
