"""A .epub file imported on its own is a pack of one `epub` lesson (content/lone_file.py)."""

from __future__ import annotations

from pathlib import Path

from content.epub import check_epub
from content.lone_file import Installed, LoneFile, LoneFileSource, lone_file_pack
from content.source import MANIFEST_NAME, PackSource, ZipSource

SUFFIX = ".epub"
DIGEST_FIELD = "x-epub-sha256"


def is_epub_file(path: Path, source: PackSource) -> bool:
    """Whether `source` (opened from `path`) is an EPUB book rather than a pack zip."""
    return path.suffix.lower() == SUFFIX and not source.has(MANIFEST_NAME)


def epub_file_pack(
    path: Path, source: ZipSource, language: str, installed: Installed | None
) -> LoneFileSource:
    """The one-lesson pack of the book `source` read from `path`; PackError if the book
    breaks a rule (content.epub)."""
    book = check_epub(source)
    lone = LoneFile(path, "epub", book.title, book.language, DIGEST_FIELD, "book")
    return lone_file_pack(lone, language, installed)
