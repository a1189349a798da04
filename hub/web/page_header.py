"""The bar atop every hub page: the hub's name, the search box, sign-in and the language
picker. A visitor's bar is the same on every page in a language but for the picker's way
back to the page, and rendering it was most of what a lesson page costs beyond the lesson:
so it is rendered once per language, with a mark where the way back goes."""

from __future__ import annotations

from flask import current_app, render_template, request, session
from markupsafe import Markup, escape

from hub.library.cache import page_parts
from hub.web.i18n import this_page, ui_locale

# Cannot occur in a rendered address: the way back is escaped before it is put in.
RETURN_MARK = "\x00return-to\x00"


def page_header() -> Markup:
    if session or request.endpoint == "search.page":
        # Someone signed in (or holding a form's token) sees their own bar; the search page
        # shows the query in the box.
        return Markup(render_template("_header.html"))
    hub_name = current_app.config["LEARNHUB"].hub_name
    key = ("header", request.script_root, ui_locale(), hub_name)
    kept = page_parts.get(key, lambda: render_template("_header.html", return_to=RETURN_MARK))
    return Markup(kept.replace(RETURN_MARK, escape(this_page())))
