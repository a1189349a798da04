"""The installed ZIMs as search sources: each searched through its own index (full text when
it has one, else titles), its hits given a snippet and the hub's address of the article.

Searchers are kept open beside the readers they search (hub.library.zim_pages keeps those),
at most zim_pages.READERS_KEPT of them, keyed by the file: a newer edition is a new file, so
it is never searched through a stale searcher.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from content.text import html_text
from content.zim import ZimReader
from content.zim.search import ZimFound, ZimHit, ZimSearcher
from hub.library import zim_pages
from hub.library.models import ZimArchive
from hub.search.analysis import analyzer, analyzer_key, words
from hub.search.query import ParsedQuery
from hub.search.snippets import make_snippet, plain_snippet

SNIPPET_SOURCE_BYTES = 256 * 1024  # larger pages get no snippet: reading them costs too much
SNIPPET_TEXT_CHARS = 6_000

_searchers: OrderedDict[Path, ZimSearcher] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class ZimSource:
    """An installed ZIM taking part in a search."""

    archive: ZimArchive
    searcher: ZimSearcher

    @property
    def key(self) -> str:
        return self.archive.pack_id  # "zim:<name>", the source facet's value

    def find(self, parsed: ParsedQuery, start: int, count: int) -> ZimFound:
        text = query_text(parsed)
        if self.searcher.has_full_text:
            return self.searcher.full_text(text, start, count)
        return self.searcher.titles(text, start, count)


def installed(data_dir: Path) -> list[ZimSource]:
    """Every installed ZIM whose file can be read, in the library's order."""
    sources = []
    for archive in zim_pages.installed():
        reader = zim_pages.reader_for(data_dir, archive)
        if reader is not None:
            sources.append(ZimSource(archive, _searcher(reader)))
    return sources


def _searcher(reader: ZimReader) -> ZimSearcher:
    with _lock:
        found = _searchers.get(reader.path)
        if found is None or found.reader is not reader:
            found = _searchers[reader.path] = ZimSearcher(reader)
        _searchers.move_to_end(reader.path)
        while len(_searchers) > zim_pages.READERS_KEPT:
            _searchers.popitem(last=False)
        return found


def query_text(parsed: ParsedQuery) -> str:
    """The query for libzim as plain words only: the hub's parse already dropped control
    characters and capped the words, and nothing of Xapian's syntax (AND, OR, NEAR, quotes,
    prefixes, field:) survives as syntax because every word is lower case and bare.
    Excluded words are left out (a ZIM lists articles that hold them: more, never wrong)."""
    pieces = [*parsed.words, *(w for phrase in parsed.phrases for w in phrase)]
    return " ".join(word.lower() for word in pieces)


def snippet(source: ZimSource, hit: ZimHit, parsed: ParsedQuery) -> str:
    """Safe HTML: about 30 words of the article around the query's words, else its start."""
    entry = source.searcher.reader.entry(hit.path)
    if entry is None or entry.size > SNIPPET_SOURCE_BYTES or "html" not in entry.mimetype:
        return ""
    try:
        text = html_text(source.searcher.reader.read(entry), SNIPPET_TEXT_CHARS)
    except Exception:  # a page libzim cannot give back: no snippet, the hit stays
        return ""
    if text.startswith(hit.title):
        text = text[len(hit.title) :].lstrip()
    reading = analyzer(analyzer_key(source.archive.language or "und"))
    terms = frozenset(
        t for t in (reading.term(w) for w in words(query_text(parsed))) if t is not None
    )
    return make_snippet(text, reading, terms) or plain_snippet(text)
