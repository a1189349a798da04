"""What the index file holds: its tables, and how a lesson's facts are written into them.

Every lesson's row id carries its facet combination: (combo id << COMBO_SHIFT) + a number.
A combination is one pack's lessons of one kind (so one language, one set of subjects and
grades, one pack title), and a library has a few dozen of them. Facet counts are then a
GROUP BY on `rowid >> COMBO_SHIFT` of the matches, and filters a test of the same number:
no lesson row is read for a match that is not on the page shown.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

from hub.search import titles, vocabulary

SCHEMA_VERSION = 4
FACETS = ("language", "subject", "grade", "kind", "pack")
SNIPPET_SOURCE_CHARS = 12_000  # stored (compressed) for snippets; all of the text is indexed
MAX_DESCRIPTION_CHARS = 600
COMBO_SHIFT = 20  # lessons of one pack and kind: at most a million (a pack holds 20,000 files)
LIST_SEPARATOR = ","  # subjects and grades are stored ",a,b," so one can be found with instr

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;
CREATE TABLE field(field TEXT PRIMARY KEY, analyzer TEXT NOT NULL, docs INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE combo(
    id INTEGER PRIMARY KEY, pack TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL,
    subjects TEXT NOT NULL, grades TEXT NOT NULL, pack_title TEXT NOT NULL, UNIQUE(pack, kind)
);
CREATE TABLE lesson(
    id INTEGER PRIMARY KEY, pack TEXT NOT NULL, lesson TEXT NOT NULL, field TEXT NOT NULL,
    language TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, keywords TEXT NOT NULL,
    description TEXT NOT NULL, topic TEXT NOT NULL, pack_title TEXT NOT NULL, body BLOB NOT NULL
);
CREATE INDEX lesson_pack ON lesson(pack);
{vocabulary.SCHEMA}
{titles.SCHEMA}
"""


def field_language(language: str) -> str:
    """The language part of a table's name: "pt-BR" -> "pt"; odd codes -> "und"."""
    primary = language.split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,8}", primary) else "und"


def fts_table(field: str) -> str:
    """The FTS5 table of one field language (only ever [a-z] letters, so safe to quote)."""
    return f"fts_{field}"


def facet_list(values: Iterable[str]) -> str:
    kept = [v.replace(LIST_SEPARATOR, " ").strip() for v in values if v.strip()]
    return LIST_SEPARATOR + LIST_SEPARATOR.join(kept) + LIST_SEPARATOR if kept else ""


def split_list(stored: str) -> list[str]:
    return [v for v in stored.split(LIST_SEPARATOR) if v]


def compress_text(text: str) -> bytes:
    return zlib.compress(text[:SNIPPET_SOURCE_CHARS].encode("utf-8"), 6)


def snippet_source(body: bytes) -> str:
    try:
        return zlib.decompress(body or b"").decode("utf-8", errors="replace")
    except zlib.error:
        return ""
