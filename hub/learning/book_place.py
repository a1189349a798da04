"""A place in a book, as a learner's progress report carries it so the reader resumes there on
another device: an EPUB CFI as epub.js writes one (printable ASCII without quotes or angle
brackets), short enough for an event; real ones are 20-100 characters."""

from __future__ import annotations

import re

MAX_PLACE = 512
_PLACE = re.compile(rf"epubcfi\([!#-;=?-~]{{1,{MAX_PLACE - 9}}}\)")


def is_book_place(value: object) -> bool:
    """Whether `value`, sent by a client, is a place in a book the reader may go back to."""
    return isinstance(value, str) and _PLACE.fullmatch(value) is not None
