"""One error shape: JSON `{"error": {"code", "message"}}` under /api/, friendly HTML elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.core.log_limit import OncePerInterval, origin
from hub.core.translate import gettext, http_error_words

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _code_name(error: HTTPException) -> str:
    return getattr(error, "error_code", None) or (error.name or "error").lower().replace(" ", "_")


def render_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    message, title = error.description or error.name, error.name
    words = http_error_words(status)
    if words:
        title = words[0]
        if error.description == type(error).description:  # werkzeug's paragraph, not ours
            message = words[1]
    headers = _passthrough_headers(error)
    if wants_json():
        return jsonify({"error": {"code": _code_name(error), "message": message}}), status, headers
    return (
        render_template("error.html", status=status, message=message, title=title),
        status,
        headers,
    )


def _passthrough_headers(error: HTTPException) -> dict[str, str]:
    # 405 carries Allow, 416 carries Content-Range: keep what werkzeug put there.
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    return headers


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    held = current_app.extensions["tracebacks"].allow(origin(error))
    if held is not None:
        more = f" ({held} more like it in the last minute)" if held else ""
        log.error("unexpected error on %s %s%s", request.method, request.path, more, exc_info=error)
    return render_error(
        InternalServerError(gettext("Something went wrong on the hub. Please try again."))
    )


class _JSON(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deep to parse is bad JSON like any other
    (a 400 from the caller's check), not a RecursionError, a 500 and a traceback."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply to read") from None


def register(app: Flask) -> None:
    app.json = _JSON(app)
    app.extensions["tracebacks"] = OncePerInterval()
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(Exception, handle_unexpected)
