"""What the index knows of each lesson, gathered from the library's tables and blobs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from content.blobstore import BlobStore
from content.epubtext import epub_text
from content.h5p import h5p_text
from content.text import lesson_text, subtitle_text
from hub.library.models import Lesson, Pack, PackFile, Topic, TopicLesson

log = logging.getLogger(__name__)

# Files bigger than this are not read for text (a PDF this big is mostly pictures).
MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024
TEXT_KINDS = ("article", "exercise", "pdf")
# Kinds whose file is an archive: read in place for its words, never loaded whole.
ARCHIVE_TEXT = {"epub": epub_text, "h5p": h5p_text}


@dataclass(frozen=True)
class LessonDoc:
    pack_id: str
    lesson_id: str
    title: str
    language: str
    kind: str
    keywords: tuple[str, ...] = ()
    description: str = ""
    text: str = ""
    subjects: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    topic_path: tuple[str, ...] = ()
    pack_title: str = ""

    @property
    def key(self) -> str:
        return f"{self.pack_id}/{self.lesson_id}"


def library_docs(store: BlobStore) -> Iterator[LessonDoc]:
    """Every lesson of the library, pack by pack (one pack's rows in memory at a time)."""
    for pack in Pack.light().order_by(Pack.id):
        yield from pack_docs(store, pack)


def pack_docs(store: BlobStore, pack: Pack) -> list[LessonDoc]:
    files = {
        row.path: row.sha256
        for row in PackFile.select(PackFile.path, PackFile.sha256).where(PackFile.pack == pack.id)
    }
    paths = _topic_paths(pack.id)
    return [
        LessonDoc(
            pack_id=pack.id,
            lesson_id=lesson.lesson_id,
            title=lesson.title,
            language=pack.language,
            kind=lesson.kind,
            keywords=tuple(lesson.keywords or ()),
            description=lesson.description,
            text=_text(store, lesson, files, pack.language),
            subjects=tuple(pack.subjects or ()),
            grades=tuple(pack.grades or ()),
            topic_path=paths.get(lesson.id, ()),
            pack_title=pack.title,
        )
        for lesson in Lesson.in_pack(pack.id)
    ]


def _topic_paths(pack_id: str) -> dict[int, tuple[str, ...]]:
    """Lesson row id -> titles from the top topic down to the first topic listing it."""
    topics = {t.id: t for t in Topic.select().where(Topic.pack == pack_id)}
    links = (
        TopicLesson.select(TopicLesson.lesson, TopicLesson.topic)
        .join(Topic)
        .where(Topic.pack == pack_id)
        .order_by(Topic.position)
    )
    paths: dict[int, tuple[str, ...]] = {}
    for link in links:
        if link.lesson_id not in paths:
            paths[link.lesson_id] = _path(topics, link.topic_id)
    return paths


def _path(topics: dict[int, Topic], topic_id: int | None) -> tuple[str, ...]:
    titles: list[str] = []
    seen: set[int] = set()
    while topic_id is not None and topic_id in topics and topic_id not in seen:
        seen.add(topic_id)
        titles.append(topics[topic_id].title)
        topic_id = topics[topic_id].parent_id
    return tuple(reversed(titles))


def _text(store: BlobStore, lesson: Lesson, files: dict[str, str], language: str) -> str:
    parts = []
    if lesson.kind in TEXT_KINDS:
        data = _read(store, files.get(lesson.file_path))
        if data:
            parts.append(lesson_text(lesson.kind, data))
    sha = files.get(lesson.file_path)
    if lesson.kind in ARCHIVE_TEXT and sha:
        parts.append(ARCHIVE_TEXT[lesson.kind](store.path(sha)))
    subtitles = (lesson.meta or {}).get("subtitles") or {}
    if subtitles:
        # The pack's language is the one its analyzer understands; else any subtitle.
        path = subtitles.get(language) or next(iter(subtitles.values()))
        data = _read(store, files.get(path))
        if data:
            parts.append(subtitle_text(data))
    return "\n".join(parts)


def _read(store: BlobStore, sha256: str | None) -> bytes:
    if not sha256:
        return b""
    path: Path = store.path(sha256)
    try:
        if path.stat().st_size > MAX_TEXT_FILE_BYTES:
            return b""
        return path.read_bytes()
    except OSError as err:
        log.warning("search: cannot read %s: %s", path, err)
        return b""
