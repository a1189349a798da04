"""The words of an EPUB book, chapter by chapter in reading order, for search.

Never raises: a book that cannot be read gives "" (the import has already refused broken
books; this also runs over books installed before a check changed). Output is capped at
`limit` characters, and each chapter read is capped too, so a book of any size costs bounded
memory and time.
"""

from __future__ import annotations

from pathlib import Path

from content.epub import check_epub
from content.errors import PackError
from content.source import open_source
from content.text import MAX_CHARS, MAX_HTML_BYTES, html_text


def epub_text(path: Path, limit: int = MAX_CHARS) -> str:
    """The visible text of the book at `path`, chapters separated by blank lines."""
    parts: list[str] = []
    left = limit
    try:
        with open_source(path) as source:
            for chapter in check_epub(source).chapters:
                if left <= 0:
                    break
                if source.size(chapter) > MAX_HTML_BYTES:
                    continue
                text = html_text(source.read(chapter), left)
                if text:
                    parts.append(text)
                    left -= len(text) + 2
    except (PackError, OSError):
        pass  # what was read so far is still worth finding
    return "\n\n".join(parts)
