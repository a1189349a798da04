"""Library pages as a visitor who is not signed in sees them: the same for every such visitor
who reads in the same languages, so each is rendered once and kept until the library changes.

A classroom opens the same few pages at once; without this, each visitor's copy costs the
hub a full render. Nothing personal can be kept: a request with anything in its session
(signed in, or holding a form's CSRF token) is rendered afresh, and so is a page whose
rendering put something in the session.

A visitor who sends no cookie at all gets more: the page is marked, and
hub/web/kept_responses.py keeps the whole answer (headers and gzip bytes) and gives it to the
next such request before it reaches Flask. The rendered page is kept here for visitors with a
cookie (a language chosen with the picker, a device remembered).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import make_response, request, session
from flask.typing import ResponseReturnValue
from flask.wrappers import Response

from hub.library.cache import page_parts, small_enough
from hub.web.i18n import reader_languages, ui_locale
from hub.web.kept_responses import mark_shareable

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
        if not request.cookies:  # kept whole, gzip and headers too, by kept_responses
            return _marked_if_shareable(make_response(view(**kwargs)))
        rendered: list[Response] = []

        def render() -> tuple[bytes, bool]:
            response = make_response(view(**kwargs))
            rendered.append(response)
            body = response.get_data()
            return body, _shareable(response) and small_enough(body)

        key = _key()
        if key is None:
            return view(**kwargs)
        body, _ = page_parts.get(key, render, keep=lambda kept: kept[1])
        return rendered[0] if rendered else Response(body, mimetype="text/html")

    return wrapper


def _shareable(response: Response) -> bool:
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.cache_control.no_store  # the page says it is of the moment
        and not session  # rendering it put something personal in the session
    )


def _marked_if_shareable(response: Response) -> Response:
    if _shareable(response) and small_enough(response.get_data()):
        mark_shareable(response)
    return response


def _key() -> tuple[str, ...] | None:
    # Everything a visitor's page depends on: the address (with its query), the page's
    # language and the reader's other languages (the library puts those first).
    languages = reader_languages()
    if len(request.full_path) > KEY_PATH_UP_TO or len(languages) > KEY_LANGUAGES_UP_TO:
        return None
    return ("visitor", request.script_root, request.full_path, ui_locale(), *languages)
