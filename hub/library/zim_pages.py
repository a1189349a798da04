"""What the web face asks of an installed ZIM: its row, an open reader over its file, an
entry, and the ids its articles carry in progress and assignments.

Readers stay open between requests (opening a ZIM reads its header and pointer tables), at
most READERS_KEPT of them, keyed by the file: a newer edition is a new file name, so a
replaced ZIM is never read through a stale reader. Part 3 (search) reaches the same readers
through `reader_for`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from content.zim import ZimEntry, ZimError, ZimReader
from hub.library.cache import library_cache
from hub.library.models import ZimArchive
from hub.library.zims import ZIMS_FOLDER

READERS_KEPT = 8
MAX_ARTICLE_ID = 64  # an event's lesson_id (sync/records.py)

_readers: OrderedDict[Path, ZimReader] = OrderedDict()
_lock = threading.Lock()


def archive(name: str) -> ZimArchive | None:
    # Kept until the library changes (an import or removal bumps its generation): building
    # and running the row's query was half of what serving an article cost (0.7 of 1.7 ms).
    found = library_cache.get(
        ("zim", name), lambda: ZimArchive.by_name(name), keep=lambda found: found is not None
    )
    # Another process (the CLI) may have replaced or removed the file since the generation
    # was last read (hub.library.cache.RECHECK_SECONDS): the file's name in the row says.
    if found is not None and ZimArchive.file_name_of(name) != found.file_name:
        return ZimArchive.by_name(name)
    return found


def installed() -> list[ZimArchive]:
    """Every installed ZIM, in the library's order (kept like `archive`)."""
    return library_cache.get("zims", ZimArchive.ordered)


def file_of(data_dir: Path, found: ZimArchive) -> Path:
    return data_dir / ZIMS_FOLDER / found.file_name


def reader_for(data_dir: Path, found: ZimArchive) -> ZimReader | None:
    """An open reader of the installed file; None if the file is gone or unreadable."""
    path = file_of(data_dir, found)
    with _lock:
        reader = _readers.get(path)
        if reader is not None:
            _readers.move_to_end(path)
            return reader
    try:
        reader = ZimReader(path, found.name)
    except ZimError:
        return None
    with _lock:
        kept = _readers.setdefault(path, reader)
        _readers.move_to_end(path)
        while len(_readers) > READERS_KEPT:
            _readers.popitem(last=False)  # closed when the last request using it ends
        return kept


def article_id(path: str) -> str:
    """How progress events and assignments name a ZIM article: its path, or for a path too
    long for an event's lesson_id, a digest of it (stable across editions, like the path)."""
    if len(path) <= MAX_ARTICLE_ID:
        return path
    return "~" + hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def entry_etag(found: ZimArchive, entry: ZimEntry) -> str:
    """Strong: the edition (uuid) and the entry's place in it."""
    return f"{found.uuid.replace('-', '')[:20]}-{entry.index}"
