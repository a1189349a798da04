"""A ZIM article standing where a lesson stands: in a coach's assignments and a learner's
home. It is a Lesson that is never saved, of kind "zim", in "pack" zim:<name>, whose
lesson_id is the article's path: the same (pack_id, lesson_id) its "viewed" events carry
(hub.library.zim_pages.article_id), so progress finds it like any lesson's.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from hub.library import zim_pages
from hub.library.models import Lesson, ZimArchive

KIND = "zim"
PREFIX = "zim:"


def is_zim(pack_id: str) -> bool:
    return pack_id.startswith(PREFIX)


def zim_article(pack_id: str, path: str) -> tuple[Lesson, ZimArchive] | None:
    """The installed article at `path` (redirects followed), or None: no such ZIM or article,
    or a path too long to be named in progress (events carry at most 64 characters)."""
    found = ZimArchive.by_name(pack_id.removeprefix(PREFIX)) if is_zim(pack_id) else None
    if found is None or zim_pages.article_id(path) != path:
        return None
    # Asked inside a request, like the lesson pages' files (hub.library.lessons).
    data_dir = Path(current_app.config["LEARNHUB"].data_dir)
    reader = zim_pages.reader_for(data_dir, found)
    entry = reader.entry(path) if reader is not None else None
    if entry is None or zim_pages.article_id(entry.path) != entry.path:
        return None
    # `pack` holds the id alone (no Pack has it): read pack_id, never .pack.
    title = entry.title or entry.path
    return Lesson(pack=found.pack_id, lesson_id=entry.path, title=title, kind=KIND), found
