"""EPUB books: the reader's page, framed by the lesson page.

The reader (the vendored epub.js) is the hub's own script and runs with the hub's origin; the
book never does: epub.js shows each chapter in an iframe whose sandbox lacks allow-scripts, so
no script or event handler in a book runs (docs/security.md). The reader's page alone gets the
policy a book's styles and pictures need (`blob:` URLs made from the book, inline styles); the
hub's other pages keep theirs.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library.lessons import blob_url
from hub.library.models import Lesson, PackFile
from hub.web.sendfile import REVALIDATE

bp = Blueprint("books", __name__)

READER_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "script-src 'self'; style-src 'self' 'unsafe-inline' blob:; font-src 'self' data: blob:; "
    "frame-src 'self' blob:; connect-src 'self'; object-src 'none'; worker-src 'none'; "
    "base-uri 'self'; form-action 'none'; frame-ancestors 'self'"
)


@bp.route("/books/<pack_id>/<lesson_id>/reader", methods=["GET", "HEAD"])
def reader(pack_id: str, lesson_id: str) -> ResponseReturnValue:
    lesson = Lesson.find(pack_id, lesson_id)
    book = PackFile.find(pack_id, lesson.file_path) if lesson and lesson.kind == "epub" else None
    if lesson is None or book is None:
        raise HubError(404, "lesson_not_found", gettext("There is no such lesson in this library."))
    page = render_template("book_reader.html", lesson=lesson, book_url=blob_url(book))
    return Response(
        page,
        mimetype="text/html",
        headers={"Content-Security-Policy": READER_CSP, "Cache-Control": REVALIDATE},
    )
