"""Names the templates use beyond Flask's own: labels, formatting, static URLs."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from markupsafe import Markup, escape

from content.importer import media_type
from hub.core.translate import gettext, lazy_gettext
from hub.library.models import Lesson
from hub.library.zim_articles import PREFIX as ZIM_PREFIX
from hub.library.zim_articles import is_zim
from hub.people.auth import current_user
from hub.web.csrf import csrf_token
from hub.web.i18n import clock
from hub.web.page_header import page_header
from hub.web.views.static import static_url
from hub.web.views.zim import read_url

KIND_LABELS = {
    "article": lazy_gettext("Reading"),
    "video": lazy_gettext("Video"),
    "audio": lazy_gettext("Listening"),
    "pdf": lazy_gettext("Document"),
    "image": lazy_gettext("Picture"),
    "exercise": lazy_gettext("Practice"),
    "app": lazy_gettext("Activity"),
    "epub": lazy_gettext("Book"),
    "h5p": lazy_gettext("Activity"),
    "zim": lazy_gettext("Library article"),  # an article of a Kiwix library (search results)
}

PDFJS_MAIN = "vendor/pdfjs/pdf.min.mjs"
PDFJS_WORKER = "vendor/pdfjs/pdf.worker.min.mjs"


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def duration(seconds: float) -> str:
    """Clock-style length, e.g. 1:35 or 1:02:03, in the reader's locale."""
    return clock(seconds)


def lesson_url(lesson: Lesson) -> str:
    """A lesson's page, or an assigned ZIM article's page on the hub (a Lesson of kind "zim":
    hub.library.zim_articles)."""
    if is_zim(lesson.pack_id):
        return read_url(lesson.pack_id.removeprefix(ZIM_PREFIX), lesson.lesson_id)
    return url_for("pages.lesson", pack_id=lesson.pack_id, lesson_id=lesson.lesson_id)


def licence_line(pack: Any, lesson: Any = None) -> Markup:
    """The licence line of a pack's page and of a lesson's: the lesson's own licence,
    attribution and author (its meta) where it states them, else the pack's; names once each,
    whatever their case. (Python, not a template macro: every lesson page shows it, and
    importing the macro and calling it were 4% of the page.)"""
    own = (lesson.meta if lesson is not None else None) or {}
    names: dict[str, str] = {}
    for name in (own.get("attribution") or pack.attribution, own.get("author")):
        if name:
            names.setdefault(str(name).lower(), name)
    licence = own.get("license") or pack.license or gettext("not stated")
    # Concatenated, not Markup.format: that was a tenth of the line's cost.
    credited = "".join(f" · <bdi>{escape(name)}</bdi>" for name in names.values())
    label = escape(gettext("Licence"))
    return Markup(
        f'<p class="licence">{label}: {escape(licence)}{credited}'
        f" · {escape(pack.title)} {escape(pack.version)}</p>"
    )


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        static_url=static_url,
        page_header=page_header,
        csrf_token=csrf_token,
        current_user=current_user,
        kind_label=kind_label,
        lesson_url=lesson_url,
        licence_line=licence_line,
        media_type=media_type,
        duration=duration,
        PDFJS_MAIN=PDFJS_MAIN,
        PDFJS_WORKER=PDFJS_WORKER,
    )
