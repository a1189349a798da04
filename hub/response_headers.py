"""What every response from the hub's and central's apps carries: browser safety headers, a
page's Content-Security-Policy, and gzip when it is worth it."""

from __future__ import annotations

from flask import request
from flask.wrappers import Response

from hub import compress


def finish(response: Response, page_csp: str) -> Response:
    """after_request work shared by both apps; `page_csp` goes on HTML pages."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", page_csp)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return compress.compress_response(request, response)
