"""gzip for text responses, when the client accepts it and it is worth it."""

from __future__ import annotations

import gzip
from functools import lru_cache

from flask import Request, Response

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/vtt",
        "text/csv",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/xml",
        "image/svg+xml",
    }
)
MIN_SIZE = 512
# Level 6 costs a third of level 9's CPU for nearly the same size: a Pi has little CPU to spare.
LEVEL = 6


def is_compressible(media_type: str) -> bool:
    return media_type.split(";")[0].strip() in COMPRESSIBLE


def accepts_gzip(request: Request) -> bool:
    return request.accept_encodings["gzip"] > 0


# Most pages are the same for every visitor (a lesson, the library in one language), so the
# same bodies come back again and again: compress each once. Compressing also lets go of the
# interpreter lock, and under load every such moment costs a worker thread a wait.
REMEMBERED = 64
REMEMBER_UP_TO = 32 * 1024  # bytes of body; larger ones are compressed each time


def gzip_bytes(data: bytes) -> bytes:
    if len(data) <= REMEMBER_UP_TO:
        return _gzip_remembered(data)
    return _gzip(data)


@lru_cache(maxsize=REMEMBERED)
def _gzip_remembered(data: bytes) -> bytes:
    return _gzip(data)


def _gzip(data: bytes) -> bytes:
    # mtime=0 keeps the output identical for identical input, so ETags stay stable.
    return gzip.compress(data, compresslevel=LEVEL, mtime=0)


def compress_response(request: Request, response: Response, mimetype: str) -> Response:
    """after_request work: gzip a buffered text body of this media type in place."""
    if (
        response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or not is_compressible(mimetype)
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip(request):
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip_bytes(body))
    response.headers["Content-Encoding"] = "gzip"
    return response
