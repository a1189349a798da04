"""Translating a message in a request (the reader's language) or outside one (the CLI).

Code shared by the web pages and the command line (the roster, people, the CLI itself) calls
these instead of Flask-Babel's: in a request they are Flask-Babel's; outside one they use the
catalog of the console's language (LC_ALL, LC_MESSAGES, LANG), else LEARNHUB_DEFAULT_LANGUAGE,
else English. This module imports nothing from `hub`, so any module may import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask_babel
from babel import support
from flask import has_request_context, request
from flask_babel.speaklater import LazyString

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"  # hub/translations
# Languages the interface has catalogs for; content may be in any language.
UI_LANGUAGES = ("en", "fr", "es", "pt", "sw", "ar")
SOURCE_LANGUAGE = "en"


def ui_language(code: str | None) -> str | None:
    """Our interface language for a tag such as "pt-BR", "sw_KE" or "fr_FR.UTF-8", else None."""
    if not code:
        return None
    primary = code.split(".")[0].replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in UI_LANGUAGES else None


def console_language(environ: Mapping[str, str] | None = None) -> str:
    """The language for messages printed outside a request (the `learnhub` command)."""
    environ = os.environ if environ is None else environ
    # POSIX: the first of these that is set decides, even when it is "C".
    posix = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), "")
    return (
        ui_language(posix)
        or ui_language(environ.get("LEARNHUB_DEFAULT_LANGUAGE"))
        or SOURCE_LANGUAGE
    )


@lru_cache(maxsize=len(UI_LANGUAGES))
def language_catalog(language: str) -> support.NullTranslations:
    """The catalog of one of UI_LANGUAGES (the source language's is empty: messages as written)."""
    return support.Translations.load(str(TRANSLATIONS), [language])


# Where a hub request keeps the language its page speaks, once chosen (hub/web/i18n.py).
REQUEST_LANGUAGE = "learnhub.locale"


def gettext(message: str, **variables: Any) -> str:
    text = _catalog_here().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Like gettext, chosen by `num` (also available to the message as %(num)d)."""
    variables.setdefault("num", num)
    return _catalog_here().ngettext(singular, plural, num) % variables


def _catalog_here() -> support.NullTranslations:
    """The reader's catalog in a request, else the console's. Once a hub request has chosen
    its language the catalog is one lookup; Flask-Babel's took a dozen context lookups per
    message (a tenth of a search page). Before that, and in central's requests, Flask-Babel
    chooses (and the hub's choice is kept for the next message)."""
    if not has_request_context():
        return language_catalog(console_language())
    language = request.environ.get(REQUEST_LANGUAGE)
    if language is None:
        return flask_babel.get_translations()
    return language_catalog(language)


def lazy_gettext(message: str, **variables: Any) -> LazyString:
    """Translated when shown, for messages defined before anyone reads them (module level)."""
    return LazyString(gettext, message, **variables)


# Words for HTTP errors we did not raise ourselves (an unknown URL, a wrong method, ...):
# werkzeug's own are long English paragraphs.
_HTTP_ERRORS = {
    400: (lazy_gettext("Bad request"), lazy_gettext("The hub could not understand this request.")),
    401: (lazy_gettext("Please sign in"), lazy_gettext("Please sign in first.")),
    403: (
        lazy_gettext("Not allowed"),
        lazy_gettext("Your account is not allowed to do this."),
    ),
    404: (
        lazy_gettext("Not found"),
        lazy_gettext("There is nothing at this address. Check the address, or go back."),
    ),
    405: (
        lazy_gettext("Not allowed"),
        lazy_gettext("This address does not accept this kind of request."),
    ),
    413: (lazy_gettext("Too large"), lazy_gettext("What was sent is too large for the hub.")),
    429: (lazy_gettext("Too many tries"), lazy_gettext("Too many tries. Please wait a little.")),
    500: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("Something went wrong on the hub. Please try again."),
    ),
}


def http_error_words(status: int) -> tuple[str, str] | None:
    """(title, one sentence) for an HTTP status, in the reader's language, or None."""
    words = _HTTP_ERRORS.get(status)
    return (str(words[0]), str(words[1])) if words else None
