"""Languages: which one a page speaks, the language picker, language names, and numbers and
dates written the reader's way (Flask-Babel).

The interface language is, first found: the signed-in learner's saved language, the one picked
with the language picker (a cookie), the browser's Accept-Language, the hub's default_language.
The translation functions themselves live in hub.core.translate, which the CLI shares.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError, support
from babel.dates import format_date, format_time, get_datetime_format
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from flask_babel import Babel, format_decimal, format_percent, get_locale
from jinja2 import Environment, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from hub.core.db import db
from hub.core.errors import HubError
from hub.core.translate import (
    REQUEST_LANGUAGE,
    SOURCE_LANGUAGE,
    TRANSLATIONS,
    UI_LANGUAGES,
    gettext,
    language_catalog,
    ui_language,
)
from hub.library.listing import library_listing
from hub.people.auth import current_learner, current_user
from hub.people.models import Learner
from hub.web.redirects import local_target

COOKIE = "hub_language"
LANGUAGE_TABLE = TRANSLATIONS / "languages.json"
COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("language", __name__)


# --------------------------------------------------------------------------- choosing


def select_locale() -> str:
    for wanted in (_saved_language(), request.cookies.get(COOKIE)):
        if found := ui_language(wanted):
            return found
    return request.accept_languages.best_match(UI_LANGUAGES) or default_language()


def default_language() -> str:
    return ui_language(current_app.config["LEARNHUB"].default_language) or SOURCE_LANGUAGE


def _saved_language() -> str | None:
    # Error pages can render before the request's connection opens: no learner then.
    if db.is_closed():
        return None
    learner = current_learner()
    return learner.language if learner else None


def ui_locale() -> str:
    """The language this page speaks, such as "fr" (never None in a request). Chosen once per
    request and kept with it; Flask-Babel asks here too (its selector), so both agree."""
    environ = request.environ
    code = environ.get(REQUEST_LANGUAGE)
    if code is None:
        code = environ[REQUEST_LANGUAGE] = select_locale()
    return code


def _catalog() -> support.NullTranslations:
    """The reader's catalog. A page asks for dozens of messages, and Flask-Babel finds the
    catalog through several context lookups (and parses the locale) for each: one lookup in
    the per-language catalogs instead (the same files Flask-Babel reads)."""
    return language_catalog(ui_locale())


def reader_languages() -> list[str]:
    """Primary subtags of the languages the reader reads, most wanted first: the page's
    language, the learner's saved one, then the browser's."""
    wanted = [ui_locale(), _saved_language() or ""]
    wanted += [code for code, _ in request.accept_languages]
    primaries = (code.replace("_", "-").split("-")[0].lower() for code in wanted)
    return list(dict.fromkeys(code for code in primaries if code and code != "*"))


# --------------------------------------------------------------------------- the picker


@bp.route("/language", methods=["GET", "POST"])
def choose() -> ResponseReturnValue:
    """The picker's form: GET for visitors (a cookie only); POST, with the form's CSRF token,
    when someone is signed in, so a learner's choice is saved and follows them to any device."""
    source = request.form if request.method == "POST" else request.args
    code = ui_language(source.get("lang"))
    if code is None:
        raise HubError(
            400, "unknown_language", gettext("The hub has no translation for this language.")
        )
    if request.method == "POST":
        _save_for_learner(code)
    response = redirect(local_target(source.get("next"), url_for("pages.home")), 303)
    response.set_cookie(
        COOKIE, code, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax", path="/"
    )
    return response


def _save_for_learner(code: str) -> None:
    learner = current_learner()
    if learner is None or ui_language(learner.language) == code:
        return  # "sw-KE" already reads as Swahili: keep the region the operator typed
    Learner.update(language=code).where(Learner.id == learner.id).execute()


def picker(return_to: str | None = None) -> dict[str, object]:
    """What _language_picker.html shows; `return_to` stands in for this page's address."""
    here = ui_locale()
    nxt = return_to or this_page()
    return {
        "buttons": _buttons(current_app.jinja_env, here),
        "current_name": language_name(here),
        "method": "post" if current_user() else "get",
        "next": nxt,
    }


def this_page() -> str:
    """Where the picker brings the reader back to."""
    return request.full_path if request.query_string else request.path


@lru_cache(maxsize=len(UI_LANGUAGES))
def _buttons(jinja: Environment, here: str) -> Markup:
    """One button per language, the same on every page in that language: rendered once."""
    choices = [
        {"code": code, "name": language_name(code), "dir": text_direction(code)}
        for code in UI_LANGUAGES
    ]
    html = jinja.get_template("_language_buttons.html").render(choices=choices, here=here)
    return Markup(html)


def language_notice(pack_language: str) -> dict[str, str] | None:
    """When a lesson is not in the page's language: its language, named in the page's, and
    where the library has lessons in the page's language (None when it has none)."""
    here = ui_locale()
    primary = pack_language.replace("_", "-").split("-")[0].lower()
    if not pack_language or primary == here:
        return None
    packs, _ = library_listing()
    ours = next((p.language for p in packs if p.language.split("-")[0].lower() == here), None)
    return {
        "language": language_name_in(pack_language, here),
        "ours": language_name_in(here, here),
        "url": url_for("pages.home", lang=ours) if ours else "",
    }


# --------------------------------------------------------------------------- names, direction


# Babel parses a locale on every call; pages ask for the same few languages over and over.
_NAMES = 256


@lru_cache(maxsize=_NAMES)
def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@lru_cache(maxsize=1)
def _language_table() -> dict[str, Any]:
    """Own names and directions of every language Babel knows (scripts/i18n writes it):
    Babel would load a whole locale, about 1 MB each, to name one language."""
    return json.loads(LANGUAGE_TABLE.read_text(encoding="utf-8"))


def _table_key(code: str) -> str:
    return code.replace("-", "_").lower()


@lru_cache(maxsize=_NAMES)
def language_name(code: str) -> str:
    """The language's own name for itself ("Kiswahili", "Français"), else the code."""
    name = _language_table()["names"].get(_table_key(code))
    if name is None:
        locale = _locale(code)
        name = locale.get_display_name(locale) if locale else None
    return name[:1].upper() + name[1:] if name else code


@lru_cache(maxsize=_NAMES)
def language_name_in(code: str, reader: str) -> str:
    """A language's name in the reader's language, for sentences ("en swahili")."""
    locale, theirs = _locale(code), _locale(reader)
    if locale is None or theirs is None:
        return code
    return locale.get_display_name(theirs) or code


@lru_cache(maxsize=_NAMES)
def text_direction(code: str) -> str:
    table = _language_table()
    key = _table_key(code)
    if key in table["names"]:
        return "rtl" if key in table["rtl"] else "ltr"
    locale = _locale(code)
    return locale.text_direction if locale else "ltr"


# --------------------------------------------------------------------------- numbers and dates


def percent(share: float | None) -> str:
    """0.5 -> "50%", "50 %" (fr), "50٪" (ar); None -> ""."""
    return "" if share is None else format_percent(share)


def number(value: float) -> str:
    return format_decimal(value)


def local_time(millis: int | None) -> str:
    """A wall time in the hub's local time (a Pi's clock may be wrong: we show what it says),
    in the reader's way: "Mar 4, 2026, 2:05 PM", "4 mars 2026, 14:05", "04/03/2026، 2:05 م"."""
    if not millis:
        return ""
    moment = datetime.fromtimestamp(millis / 1000)
    locale = get_locale()
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    time = format_time(moment, "short", locale=locale)
    return pattern.replace("{0}", time).replace("{1}", format_date(moment, "medium", locale=locale))


def sortable_time(millis: int | None) -> str:
    """2026-03-04 14:05, for spreadsheets (they sort it and read it in any language)."""
    return datetime.fromtimestamp(millis / 1000).strftime("%Y-%m-%d %H:%M") if millis else ""


def clock(seconds: float) -> str:
    """A media length, clock style: 1:35 or 1:02:03, in the locale's digits."""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [format_decimal(secs, "00")]
    parts.insert(0, format_decimal(minutes, "00" if hours else "0"))
    if hours:
        parts.insert(0, format_decimal(hours, "0"))
    return ":".join(parts)


# --------------------------------------------------------------------------- wiring


def _vary_on_choice(response: Response) -> Response:
    # A response that varies with the browser's language also varies with the picker's cookie.
    if "accept-language" in {v.lower() for v in response.vary}:
        response.vary.add("Cookie")
    return response


class _Messages:
    """`_()`, `gettext()` and `ngettext()` in templates, as jinja2's i18n extension does them
    with `newstyle` (escaped when the template is, always %-formatted), in one call where the
    extension's takes three through the template context. Each template rendered gets its
    own, bound once to the reader's catalog (a lesson page asks for about ten messages, and
    finding the catalog for each was 3% of the page); the globals' one finds it each time
    (for a macro imported without the page's context)."""

    def __init__(self, catalog: support.NullTranslations | None = None) -> None:
        self._bound = catalog

    def _catalog(self) -> support.NullTranslations:
        return self._bound if self._bound is not None else _catalog()

    @pass_eval_context
    def gettext(self, eval_context: EvalContext, message: str, **variables: Any) -> str:
        text = self._catalog().ugettext(message)
        return (Markup(text) if eval_context.autoescape else text) % variables

    @pass_eval_context
    def ngettext(
        self, eval_context: EvalContext, singular: str, plural: str, num: int, **variables: Any
    ) -> str:
        variables.setdefault("num", num)
        text = self._catalog().ungettext(singular, plural, num)
        return (Markup(text) if eval_context.autoescape else text) % variables

    def as_names(self) -> dict[str, Any]:
        return {"_": self.gettext, "gettext": self.gettext, "ngettext": self.ngettext}


def _page_messages() -> dict[str, Any]:
    """Context processor: the page's messages, bound to its catalog."""
    return _Messages(_catalog()).as_names() if has_request_context() else {}


def init_app(app: Flask) -> None:
    # The catalogs are the whole hub's (hub/translations), not beside this package.
    Babel(app, locale_selector=ui_locale, default_translation_directories=str(TRANSLATIONS))
    app.register_blueprint(bp)
    app.after_request(_vary_on_choice)
    # The extension Flask-Babel loads still reads {% trans %}; these answer its calls.
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]
    app.context_processor(_page_messages)
    app.jinja_env.globals.update(
        **_Messages().as_names(),
        language_name=language_name,
        text_direction=text_direction,
        get_locale=get_locale,
        ui_locale=ui_locale,
        language_picker=picker,
        language_notice=language_notice,
    )
