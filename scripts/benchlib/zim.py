"""The school library's lessons as a ZIM archive (with its full-text and title indexes), so
kiwix-serve can be measured on the same lessons. Written with libzim (the `bench` extra)."""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from libzim.writer import Creator, Hint, Item, StringProvider

from benchlib.school_library import SchoolLibrary

NAME = "school"  # the book's name in kiwix-serve's addresses
# kiwix-serve wants an illustration; a 1x1 PNG is enough for it to list the book.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


# Where kiwix-serve puts a book's entries: /content/<book>/ since 3.4, /<book>/ before.
BOOK_PREFIXES = (f"/content/{NAME}/", f"/{NAME}/")


def in_zim(lesson_path: str) -> str:
    """/lessons/<pack>/<lesson> -> the same lesson's path inside the ZIM."""
    return lesson_path.removeprefix("/lessons/")


def write(library: SchoolLibrary, where: Path) -> Path:
    """The ZIM at `where` (kept if it is there already)."""
    if where.exists():
        return where
    partial = where.with_name(where.name + ".partial")
    partial.unlink(missing_ok=True)
    with _stdout_to_stderr(), Creator(str(partial)).config_indexing(True, "eng") as creator:
        _metadata(creator, PNG_1X1)
        for folder in library.folders:
            for path, title, html in _articles(folder):
                creator.add_item(html_article(path, title, html))
        creator.set_mainpath(_first(library))
    partial.rename(where)
    return where


def html_article(path: str, title: str, html: str) -> Item:
    """One front article for libzim's Creator (the hub's own libzim writes the bench's ZIMs)."""
    return _Article(path, title, html)


class _Article(Item):
    def __init__(self, path: str, title: str, html: str) -> None:
        super().__init__()
        self.path, self.title, self.html = path, title, html

    def get_path(self) -> str:
        return self.path

    def get_title(self) -> str:
        return self.title

    def get_mimetype(self) -> str:
        return "text/html"

    def get_contentprovider(self) -> StringProvider:
        return StringProvider(self.html)

    def get_hints(self) -> dict:
        return {Hint.FRONT_ARTICLE: True}


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """libzim prints its progress on stdout, where the bench prints its report."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _first(library: SchoolLibrary) -> str:
    return in_zim(library.lesson_paths[0])


def _metadata(creator: object, illustration: bytes) -> None:
    today = datetime.date.today()
    for name, value in {
        "Name": NAME,
        "Title": "School library",
        "Language": "eng",
        "Creator": "learnhub bench",
        "Publisher": "learnhub bench",
        "Date": today,
        "Description": "The bench's generated school library",
    }.items():
        creator.add_metadata(name, value)  # type: ignore[attr-defined]
    creator.add_illustration(48, illustration)  # type: ignore[attr-defined]


def _articles(folder: Path) -> list[tuple[str, str, str]]:
    """(path in the ZIM, title, HTML) of every article lesson of a pack folder."""
    manifest = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    return [
        (
            f"{manifest['id']}/{lesson['id']}",
            lesson["title"],
            (folder / lesson["file"]).read_text(encoding="utf-8"),
        )
        for lesson in manifest["lessons"]
        if lesson["kind"] == "article"
    ]
