"""What a lesson shows: its file URLs, its exercise, its transcript. Shared by pages and API."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, url_for

from content.exercise import Exercise, parse_exercise
from content.vtt import Cue, parse_vtt
from hub.library.cache import library_cache, parsed_files
from hub.library.models import Lesson, Pack, PackFile, Topic


@dataclass(frozen=True)
class Subtitle:
    language: str
    url: str
    path: str


@dataclass
class LessonFiles:
    main: str
    poster: str | None = None
    subtitles: list[Subtitle] = field(default_factory=list)
    assets: dict[str, str] = field(default_factory=dict)


def blob_url(pack_file: PackFile) -> str:
    extension = posixpath.splitext(pack_file.path)[1].lower()
    return url_for("files.blob", name=pack_file.sha256 + extension)


def files_of(lesson: Lesson) -> LessonFiles:
    paths = lesson.paths()
    if lesson.kind in BY_PATH:
        paths.discard(lesson.file_path)  # linked to by its path: no need to look it up
    by_path = {f.path: f for f in PackFile.at_paths(lesson.pack_id, paths)}
    meta = lesson.meta or {}
    poster = by_path.get(meta.get("poster") or "")
    subtitles = [
        Subtitle(language, blob_url(by_path[path]), path)
        for language, path in sorted(meta.get("subtitles", {}).items())
        if path in by_path
    ]
    return LessonFiles(
        main=main_url(lesson, by_path.get(lesson.file_path)),
        poster=blob_url(poster) if poster else None,
        subtitles=subtitles,
        assets={p: blob_url(by_path[p]) for p in meta.get("assets", []) if p in by_path},
    )


# Kinds whose main file is linked to by its path in the pack, not by its content address.
BY_PATH = ("article", "app", "h5p", "epub")


def main_url(lesson: Lesson, pack_file: PackFile | None) -> str:
    """Articles keep their paths so relative links to assets resolve; apps open inside their
    zip; everything else is served by content address."""
    if lesson.kind == "article":
        return url_for("files.pack_file", pack_id=lesson.pack_id, path=lesson.file_path)
    if lesson.kind == "app":
        return url_for(
            "files.app_file",
            pack_id=lesson.pack_id,
            lesson_id=lesson.lesson_id,
            path="index.html",
        )
    if lesson.kind in ("h5p", "epub"):  # played or read in a frame of their own
        endpoint = "h5p.player" if lesson.kind == "h5p" else "books.reader"
        return url_for(endpoint, pack_id=lesson.pack_id, lesson_id=lesson.lesson_id)
    if pack_file is None:
        return ""
    return blob_url(pack_file)


def _blob_path(pack_id: str, path: str) -> tuple[Path, str] | None:
    pack_file = PackFile.find(pack_id, path)
    if pack_file is None:
        return None
    library = current_app.extensions["library"]
    return library.store.path(pack_file.sha256), pack_file.sha256


def exercise_of(lesson: Lesson) -> Exercise | None:
    found = _blob_path(lesson.pack_id, lesson.file_path)
    if found is None:
        return None
    blob, sha = found
    origin = lesson.file_path
    return parsed_files.get(
        ("exercise", sha, origin), lambda: parse_exercise(blob.read_bytes(), origin)
    )


def transcript_of(lesson: Lesson, language: str | None = None) -> list[Cue]:
    """Cues of the subtitle in `language`, else the pack's language, else any."""
    subtitles = (lesson.meta or {}).get("subtitles", {})
    if not subtitles:
        return []
    path = (
        subtitles.get(language or "")
        or subtitles.get(lesson.pack.language)
        or next(iter(subtitles.values()))
    )
    found = _blob_path(lesson.pack_id, path)
    if found is None:
        return []
    blob, sha = found
    return list(parsed_files.get(("vtt", sha), lambda: tuple(parse_vtt(blob.read_bytes()))))


@dataclass(frozen=True)
class LessonView:
    """Everything a lesson page shows that is the same for every reader (cached)."""

    lesson: Lesson
    pack: Pack
    files: LessonFiles
    previous: Lesson | None
    next: Lesson | None
    topic: Topic | None
    transcript: list[Cue]


def _build_view(pack_id: str, lesson_id: str) -> LessonView | None:
    lesson = Lesson.row(pack_id, lesson_id)
    pack = _pack(pack_id) if lesson is not None else None
    if lesson is None or pack is None:  # no pack: removed since the lesson was read
        return None
    lesson.pack = pack
    topic = lesson.topic()
    previous, following = lesson.neighbours(topic)
    return LessonView(
        lesson=lesson,
        pack=lesson.pack,
        files=files_of(lesson),
        previous=previous,
        next=following,
        topic=topic,
        transcript=transcript_of(lesson) if lesson.kind in ("video", "audio") else [],
    )


def _pack(pack_id: str) -> Pack | None:
    """A library has a few packs and many lessons: each pack's row is read once."""
    return library_cache.get(("pack", pack_id), lambda: Pack.by_id(pack_id))


def lesson_view(pack_id: str, lesson_id: str, keep: bool = True) -> LessonView | None:
    """The lesson's view, kept for the next reader unless `keep` is false (the caller keeps the
    whole page it makes of it instead)."""
    return library_cache.get(
        ("lesson", pack_id, lesson_id),
        lambda: _build_view(pack_id, lesson_id),
        keep=None if keep else _never,
    )


def _never(_: object) -> bool:
    return False


def lesson_url(lesson: Lesson) -> str:
    return url_for("pages.lesson", pack_id=lesson.pack_id, lesson_id=lesson.lesson_id)
