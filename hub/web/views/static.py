"""The hub's own CSS, JS and vendored libraries, with content-hashed URLs cached for a year."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue

from content.importer import media_type
from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.web.sendfile import send_path

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("static", __name__)


@lru_cache(maxsize=512)
def _digest(path: Path) -> str:
    # Once per process: the hub's own files change only with an upgrade, which restarts it.
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=512)
def _resolve(filename: str) -> Path | None:
    # A name the file system refuses (a NUL byte, too long, undecodable) is simply not here.
    try:
        path = (STATIC_ROOT / filename).resolve()
        if not path.is_relative_to(STATIC_ROOT) or not path.is_file():
            return None
    except (OSError, ValueError):
        return None
    return path


def static_url(filename: str) -> str:
    """A URL that changes when the file does, so browsers may keep it for a year."""
    path = _resolve(filename)
    if path is None:
        raise ValueError(f"no static file {filename}")
    return _versioned(request.script_root, filename, _digest(path))


@lru_cache(maxsize=512)
def _versioned(script_root: str, filename: str, digest: str) -> str:
    # url_for is a large share of a small page's cost; the URL depends only on these three.
    return url_for("static.file", filename=filename, v=digest)


@bp.route("/favicon.ico", methods=["GET", "HEAD"])
def favicon() -> ResponseReturnValue:
    """Browsers ask for it whatever the page says; answer with the hub's icon."""
    return file("favicon.svg")


@bp.route("/static/<path:filename>", methods=["GET", "HEAD"])
def file(filename: str) -> ResponseReturnValue:
    path = _resolve(filename)
    if path is None:
        raise HubError(404, "file_not_found", gettext("No such file."))
    digest = _digest(path)
    return send_path(
        path,
        etag=digest,
        media_type=media_type(filename),
        immutable=request.args.get("v") == digest,
        # Frames with an opaque origin (the H5P player) load the hub's fonts, which browsers
        # fetch with CORS; these files are public and carry no cookie.
        headers={"Access-Control-Allow-Origin": "*"},
    )
