"""What every response from the hub's and central's apps carries: browser safety headers, a
page's Content-Security-Policy, and gzip when it is worth it."""

from __future__ import annotations

from flask import request
from flask.wrappers import Response

from hub.web import compress

# A document the hub did not write (a pack's page, SVG or XML) runs in an opaque origin: no
# `allow-same-origin`, so it cannot read the hub's cookies or call its API, and it may load
# nothing from outside the hub.
ARTICLE_CSP = (
    "sandbox allow-popups; default-src 'self' data:; script-src 'none'; "
    "style-src 'self' 'unsafe-inline'; connect-src 'none'; form-action 'none'; "
    "frame-ancestors 'self'; base-uri 'none'"
)
# Types a browser shows or plays but never runs as a document with script. Anything else
# (HTML, XHTML, any XML, SVG, XSL, MathML, types added later) is treated as able to run one.
INERT_TYPES = frozenset(
    {
        "text/plain",
        "text/css",
        "text/csv",
        "text/vtt",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/pdf",
        "application/octet-stream",
        "application/zip",
        "application/epub+zip",
        "application/wasm",
        "application/x-subrip",
    }
)
INERT_FAMILIES = ("image/", "audio/", "video/", "font/")


def runs_script(media_type: str) -> bool:
    """Whether a browser opening a response of this type could run script in it."""
    kind = media_type.split(";")[0].strip().lower()
    if kind == "image/svg+xml":
        return True
    return not (kind in INERT_TYPES or kind.startswith(INERT_FAMILIES))


def finish(response: Response, page_csp: str) -> Response:
    """after_request work shared by both apps; `page_csp` goes on the apps' own HTML pages,
    and any other response a browser could run as a document is sandboxed."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    # Read once: each read parses the Content-Type header again.
    mimetype = response.mimetype or ""
    if mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", page_csp)
    elif mimetype and runs_script(mimetype):
        headers.setdefault("Content-Security-Policy", ARTICLE_CSP)
    headers.setdefault("Referrer-Policy", "same-origin")
    return compress.compress_response(request, response, mimetype)
