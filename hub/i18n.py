"""Locale choice and language names (Flask-Babel)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import current_app, request
from flask_babel import Babel, get_locale

# Languages the interface has catalogs for; content may be in any language.
UI_LANGUAGES = ("en",)


def select_locale() -> str:
    default = current_app.config["LEARNHUB"].default_language
    return request.accept_languages.best_match(UI_LANGUAGES) or default


def reader_languages() -> list[str]:
    """Primary language subtags the reader asked for, most wanted first, then the UI's."""
    wanted = [code.split("-")[0].lower() for code, _ in request.accept_languages]
    wanted.append(str(get_locale()).split("_")[0])
    return list(dict.fromkeys(code for code in wanted if code and code != "*"))


def language_name(code: str) -> str:
    """The language's own name for itself ("Kiswahili", "français"), else the code."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


def text_direction(code: str) -> str:
    try:
        return Locale.parse(code.replace("-", "_")).text_direction
    except (UnknownLocaleError, ValueError, TypeError):
        return "ltr"


def init_app(app) -> None:  # noqa: ANN001 - Flask
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        language_name=language_name, text_direction=text_direction, get_locale=get_locale
    )
