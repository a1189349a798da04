"""File responses with ETag, conditional GET and byte ranges that never tie up a worker.

werkzeug's own range support iterates a 206 body in the worker thread for the whole transfer;
a few students seeking in videos then hold every thread. Here the file is positioned at the
range start and handed to the server's `wsgi.file_wrapper` with an exact Content-Length, so
waitress streams it from its I/O loop and the worker is free at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import parse_range_header

from hub.web.compress import accepts_gzip, gzip_bytes, is_compressible

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CHUNK = 64 * 1024
GZIP_MAX_FILE = 2 * 1024 * 1024
PIECES_WHOLE_MAX = 2 * 1024 * 1024  # bytes not on disk up to this size go out whole


def send_path(
    path: Path,
    *,
    etag: str,
    media_type: str,
    immutable: bool = False,
    headers: dict[str, str] | None = None,
    span: tuple[int, int] | None = None,
) -> Response:
    """Answer a GET/HEAD for a file on disk, honouring If-None-Match, Range and If-Range.
    `span` (offset, size) serves only those bytes of the file as the whole answer: an
    entry stored uncompressed inside a ZIM goes out from the ZIM file itself."""
    response = Response(mimetype=media_type)
    response.headers.update(headers or {})
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
    if is_compressible(media_type):
        response.vary.add("Accept-Encoding")
    base, size = span if span is not None else (0, os.stat(path).st_size)
    gzipped = _worth_gzip(media_type, size)
    tag = etag + "-gz" if gzipped else etag
    response.set_etag(tag)
    if request.if_none_match.contains(tag):
        response.status_code = 304
        return response
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
        response.set_data(gzip_bytes(_read_whole(path, base, size)))
        return response
    start, length = _requested_span(etag, size)
    if length != size or start:
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    response.content_length = length
    if request.method == "HEAD" or length == 0:
        return response
    handle = open(path, "rb")  # noqa: SIM115 - the server closes it after streaming
    handle.seek(base + start)
    response.response = _wrap(handle, length)
    response.direct_passthrough = True
    return response


def send_pieces(
    pieces: Callable[[int, int], Iterable[bytes]],
    size: int,
    *,
    etag: str,
    media_type: str,
    immutable: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """As send_path, for `size` bytes that are no span of a file on disk (a compressed member
    of a zip): `pieces(start, length)` yields them. A small answer is read whole, so the
    response's gzip may apply; a larger one streams."""
    response = Response(mimetype=media_type)
    response.headers.update(headers or {})
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
    response.set_etag(etag)
    if request.if_none_match.contains(etag):
        response.status_code = 304
        return response
    start, length = _requested_span(etag, size)
    if length != size or start:
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    if request.method == "HEAD" or length == 0:
        response.content_length = length
        return response
    if length <= PIECES_WHOLE_MAX:
        response.set_data(b"".join(pieces(start, length)))
        return response
    response.response = pieces(start, length)
    response.content_length = length
    response.direct_passthrough = True
    return response


def requested_span(etag: str, size: int) -> tuple[int, int]:
    """(start, length) a GET asks for, by the rules send_path follows (for answers whose bytes
    are not a file span); RequestedRangeNotSatisfiable (416) for a range past the end."""
    return _requested_span(etag, size)


def _read_whole(path: Path, base: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(base)
        return handle.read(size)


def _worth_gzip(media_type: str, size: int) -> bool:
    """Small text files go compressed (whole, never as ranges); the rest go as they are."""
    if not is_compressible(media_type) or size > GZIP_MAX_FILE or size < 512:
        return False
    if "Range" in request.headers:
        return False
    return accepts_gzip(request)


def _requested_span(etag: str, size: int) -> tuple[int, int]:
    """(start, length) of what to send: the whole file unless one satisfiable range is asked."""
    header = request.headers.get("Range")
    if not header or not _if_range_matches(etag):
        return 0, size
    ranges = parse_range_header(header)
    # Unparseable or multi-range requests get the whole file, which RFC 9110 allows.
    if ranges is None or len(ranges.ranges) != 1 or ranges.units != "bytes":
        return 0, size
    span = ranges.range_for_length(size)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=size)
    start, stop = span
    return start, stop - start


def _if_range_matches(etag: str) -> bool:
    if_range = request.if_range
    if if_range.etag is None and if_range.date is None:
        return True
    return if_range.etag == etag


def _wrap(handle: BinaryIO, length: int) -> Iterable[bytes]:
    wrapper = request.environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        # waitress sends min(Content-Length, rest of file) from the current position.
        return wrapper(handle, CHUNK)
    return _read_span(handle, length)


def _read_span(handle: BinaryIO, length: int) -> Iterator[bytes]:
    """Fallback for servers without a file wrapper (the test client)."""
    try:
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()
