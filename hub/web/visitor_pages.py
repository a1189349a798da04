"""Library pages as a visitor who is not signed in sees them: the same for every such visitor
who reads in the same languages, so each is rendered once and kept until the library changes.

A classroom opens the same few pages at once; without this, each visitor's copy costs the
hub a full render. Nothing personal can be kept: a request with anything in its session
(signed in, or holding a form's CSRF token) is rendered afresh, and so is a page whose
rendering put something in the session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import make_response, request, session
from flask.typing import ResponseReturnValue
from flask.wrappers import Response

from hub.library.cache import page_parts, small_enough
from hub.web.i18n import reader_languages, ui_locale

View = Callable[..., ResponseReturnValue]
# A stranger chooses the address and Accept-Language: keys past these sizes are not kept, so
# kept pages cannot be made to hold megabytes of keys.
KEY_PATH_UP_TO = 512
KEY_LANGUAGES_UP_TO = 8


def same_for_visitors(view: View) -> View:
    @functools.wraps(view)
    def wrapper(**kwargs: str) -> ResponseReturnValue:
        if request.method != "GET" or session:
            return view(**kwargs)
        rendered: list[Response] = []

        def render() -> tuple[bytes, bool]:
            response = make_response(view(**kwargs))
            rendered.append(response)
            shareable = (
                response.status_code == 200
                and response.mimetype == "text/html"
                and not response.cache_control.no_store  # the page says it is of the moment
            )
            body = response.get_data()
            return body, shareable and not session and small_enough(body)

        key = _key()
        if key is None:
            return view(**kwargs)
        body, _ = page_parts.get(key, render, keep=lambda kept: kept[1])
        return rendered[0] if rendered else Response(body, mimetype="text/html")

    return wrapper


def _key() -> tuple[str, ...] | None:
    # Everything a visitor's page depends on: the address (with its query), the page's
    # language and the reader's other languages (the library puts those first).
    languages = reader_languages()
    if len(request.full_path) > KEY_PATH_UP_TO or len(languages) > KEY_LANGUAGES_UP_TO:
        return None
    return ("visitor", request.script_root, request.full_path, ui_locale(), *languages)
