"""pack.json, format learnhub-pack/1: parsing and validation.

The structure is checked against content/pack_schema.json (the machine-readable spec); this
module adds what a schema cannot say: unique ids, topic references, file kinds, safe paths.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import chain, islice
from typing import Any

from content.errors import PackError, PackProblems
from content.json_errors import explain
from content.schema import SchemaValidator, describe, format_path
from content.source import nfc, path_problem

FORMAT = "learnhub-pack/1"
KINDS = ("article", "video", "audio", "pdf", "image", "exercise", "app", "epub", "h5p")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
KIND_EXTENSIONS = {
    "article": (".html", ".htm"),
    "video": (".mp4", ".webm", ".ogv", ".m4v"),
    "audio": (".mp3", ".ogg", ".oga", ".opus", ".m4a", ".wav"),
    "pdf": (".pdf",),
    "image": IMAGE_EXTENSIONS,
    "exercise": (".json",),
    "app": (".zip",),
    "epub": (".epub",),
    "h5p": (".h5p",),
}
SUBTITLE_EXTENSIONS = (".vtt",)
MAX_DEPTH = 32  # JSON nesting; deeper is hostile (or a runaway generator), not a real pack
MAX_PROBLEMS = 100  # reported at once; a file with more is better fixed from the top
_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,3}")


@dataclass(frozen=True)
class LessonEntry:
    id: str
    title: str
    kind: str
    file: str
    description: str = ""
    assets: tuple[str, ...] = ()
    subtitles: dict[str, str] = field(default_factory=dict)  # language tag -> .vtt path
    poster: str | None = None
    duration: float | None = None  # seconds
    keywords: tuple[str, ...] = ()
    thumbnail: str | None = None  # a small picture beside the lesson's title
    license: str = ""  # the lesson's own licence (an SPDX id or LicenseRef-*); "": the pack's
    attribution: str = ""  # who made it, as it should be credited; "": the pack's
    author: str = ""

    def paths(self) -> list[str]:
        """file + assets + subtitle files + poster + thumbnail, each once, in that order."""
        every = [self.file, *self.assets, *self.subtitles.values()]
        every += [path for path in (self.poster, self.thumbnail) if path]
        return list(dict.fromkeys(every))


@dataclass(frozen=True)
class TopicEntry:
    id: str
    title: str
    lessons: tuple[str, ...]
    topics: tuple[TopicEntry, ...]
    description: str = ""

    def walk(self) -> Iterator[TopicEntry]:
        """This topic, then its subtopics depth-first."""
        yield self
        for topic in self.topics:
            yield from topic.walk()


@dataclass(frozen=True)
class Manifest:
    id: str
    version: str
    title: str
    description: str
    language: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    license: str
    attribution: str
    author: str
    topics: tuple[TopicEntry, ...]
    lessons: tuple[LessonEntry, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    thumbnail: str | None = None  # the pack's cover on the library page
    _by_id: dict[str, LessonEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {lesson.id: lesson for lesson in self.lessons})

    def lesson(self, lesson_id: str) -> LessonEntry | None:
        return self._by_id.get(lesson_id)

    def paths(self) -> set[str]:
        """Every file path the manifest references."""
        every = {path for lesson in self.lessons for path in lesson.paths()}
        return every | {self.thumbnail} if self.thumbnail else every

    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)

    def all_topics(self) -> Iterator[TopicEntry]:
        for topic in self.topics:
            yield from topic.walk()

    def loose_lessons(self) -> tuple[LessonEntry, ...]:
        """Lessons that no topic lists (shown directly under the pack)."""
        listed = {lesson_id for topic in self.all_topics() for lesson_id in topic.lessons}
        return tuple(lesson for lesson in self.lessons if lesson.id not in listed)


def version_key(version: str) -> tuple[int, ...]:
    """A sortable key: "1.10.0" > "1.9.2", and "1.2" == "1.2.0"."""
    if not _VERSION.fullmatch(version):
        raise PackError(f"{describe(version)} is not a version number such as 1.2.0.")
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def parse_manifest(data: bytes, origin: str = "pack.json") -> Manifest:
    """Parse and validate pack.json. If it is bad: PackError naming origin and field, or
    PackProblems with every problem found (each a sentence naming origin and field)."""
    raw = _load_json(data, origin)
    _check_format(raw, origin)
    issues = list(islice(_validator().issues(raw), MAX_PROBLEMS))
    flagged = {issue.where for issue in issues}
    problems = [f"{origin}: {issue}" for issue in issues]
    found = chain(
        _thumbnail_problem(raw), _lesson_problems(raw.get("lessons")), _topic_problems(raw)
    )
    for where, problem in found:
        if where not in flagged:
            problems.append(f"{origin}: {where}: {problem}")
    if problems:
        raise PackProblems(problems[:MAX_PROBLEMS])
    return _build(raw)


@cache
def _validator() -> SchemaValidator:
    text = resources.files("content").joinpath("pack_schema.json").read_text("utf-8")
    return SchemaValidator(json.loads(text))


def _load_json(data: bytes, origin: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as err:
        raise PackError(f"{origin} is not UTF-8 text (bad byte at offset {err.start}).") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_repeats,
            parse_constant=_refuse,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as err:
        raise PackError(f"{origin} is not valid JSON: {explain(err)}.") from None
    except RecursionError:
        raise PackError(f"{origin} is nested too deeply.") from None
    except _JsonRefused as err:
        raise PackError(f"{origin} is not valid JSON: {err}.") from None
    if not isinstance(value, dict):
        raise PackError(f"{origin}: expected a JSON object at the top; got {describe(value)}")
    if _depth(value) > MAX_DEPTH:
        raise PackError(f"{origin} is nested more than {MAX_DEPTH} levels deep.")
    return value


class _JsonRefused(ValueError):
    pass


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefused(f"the key {describe(key)} appears twice in one object")
        result[key] = value
    return result


def _refuse(constant: str) -> Any:
    raise _JsonRefused(f"{constant} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 parses as infinity
        raise _JsonRefused(f"{text} is too large a number")
    return number


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list) and level <= MAX_DEPTH:
            pending.extend((child, level + 1) for child in children)
    return deepest


def _check_format(raw: dict[str, Any], origin: str) -> None:
    found = raw.get("format")
    if isinstance(found, str) and found.startswith("learnhub-pack/") and found != FORMAT:
        raise PackError(
            f"{origin}: format: this hub reads {describe(FORMAT)}; got {describe(found)} "
            "(a newer hub may read it)"
        )


Problem = tuple[str, str]  # (field path, what is wrong with it)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _has_id(lesson: Any) -> bool:
    return isinstance(lesson, dict) and isinstance(lesson.get("id"), str)


def _well_formed(lesson: Any) -> bool:
    """Whether a lesson has the shape the checks below read (the schema reports the rest)."""
    if not isinstance(lesson, dict):
        return False
    strings = all(isinstance(lesson.get(name), str) for name in ("id", "file"))
    assets = lesson.get("assets", [])
    subtitles = lesson.get("subtitles", {})
    return (
        strings
        and lesson.get("kind") in KIND_EXTENSIONS
        and isinstance(assets, list)
        and all(isinstance(asset, str) for asset in assets)
        and isinstance(subtitles, dict)
        and all(isinstance(path, str) for path in subtitles.values())
        and isinstance(lesson.get("poster", ""), str)
    )


def _lesson_problems(lessons: Any) -> Iterator[Problem]:
    first_index: dict[str, int] = {}
    for index, lesson in enumerate(_list(lessons)):
        if not _well_formed(lesson):
            continue
        where = f"lessons[{index}]"
        if lesson["id"] in first_index:
            yield (
                f"{where}.id",
                f"{describe(lesson['id'])} is already the id of "
                f"lessons[{first_index[lesson['id']]}]",
            )
        first_index.setdefault(lesson["id"], index)
        for located in _typed_paths(lesson, where):
            problem = _path_problem(*located[1:])
            if problem:
                yield located[0], problem


def _typed_paths(lesson: dict[str, Any], where: str) -> Iterator[tuple[str, str, tuple, str]]:
    """(field, path, allowed extensions or (), what the file is for) for each lesson path."""
    kind = lesson["kind"]
    article = "an" if kind[0] in "aeiou" else "a"
    yield f"{where}.file", lesson["file"], KIND_EXTENSIONS[kind], f"{article} {kind} lesson"
    for index, asset in enumerate(lesson.get("assets", [])):
        yield f"{where}.assets[{index}]", asset, (), "an asset"
    for language, path in lesson.get("subtitles", {}).items():
        where_sub = f"{where}.{format_path(('subtitles', language))}"
        yield where_sub, path, SUBTITLE_EXTENSIONS, "subtitles"
    if "poster" in lesson:
        yield f"{where}.poster", lesson["poster"], IMAGE_EXTENSIONS, "a poster"
    if "thumbnail" in lesson:
        yield f"{where}.thumbnail", lesson["thumbnail"], IMAGE_EXTENSIONS, "a thumbnail"


def _thumbnail_problem(raw: dict[str, Any]) -> Iterator[Problem]:
    path = raw.get("thumbnail")
    problem = _path_problem(path, IMAGE_EXTENSIONS, "a cover") if isinstance(path, str) else None
    if problem:
        yield "thumbnail", problem


def _path_problem(path: str, wanted: tuple[str, ...], what: str) -> str | None:
    problem = path_problem(path)
    if problem:
        return f"expected a relative path inside the pack; {problem}"
    if wanted and not path.lower().endswith(wanted):
        names = ", ".join(wanted[:-1]) + " or " + wanted[-1] if len(wanted) > 1 else wanted[0]
        return f"expected a {names} file for {what}; got {describe(path)}"
    return None


def _topic_problems(raw: dict[str, Any]) -> Iterator[Problem]:
    lessons = raw.get("lessons")
    if not isinstance(lessons, list) or not all(_has_id(lesson) for lesson in lessons):
        return  # whether a topic names a real lesson waits until every lesson has an id
    lesson_ids = {lesson["id"] for lesson in lessons}
    first_at: dict[str, str] = {}
    pending = [(f"topics[{index}]", topic) for index, topic in enumerate(_list(raw.get("topics")))]
    while pending:
        where, topic = pending.pop(0)
        if not isinstance(topic, dict) or not isinstance(topic.get("id"), str):
            continue
        if topic["id"] in first_at:
            yield (
                f"{where}.id",
                f"{describe(topic['id'])} is already the id of {first_at[topic['id']]}",
            )
        first_at.setdefault(topic["id"], where)
        for index, lesson_id in enumerate(_list(topic.get("lessons"))):
            if isinstance(lesson_id, str) and lesson_id not in lesson_ids:
                yield (
                    f"{where}.lessons[{index}]",
                    f"expected the id of a lesson in this pack; got {describe(lesson_id)}",
                )
        children = enumerate(_list(topic.get("topics")))
        pending.extend((f"{where}.topics[{index}]", child) for index, child in children)


def _build(raw: dict[str, Any]) -> Manifest:
    return Manifest(
        id=raw["id"],
        version=raw["version"],
        title=raw["title"],
        description=raw.get("description", ""),
        language=raw["language"],
        subjects=tuple(raw.get("subjects", ())),
        grades=tuple(raw.get("grades", ())),
        license=raw.get("license", ""),
        attribution=raw.get("attribution", ""),
        author=raw.get("author", ""),
        topics=tuple(_build_topic(topic) for topic in raw.get("topics", ())),
        lessons=tuple(_build_lesson(lesson) for lesson in raw["lessons"]),
        raw=raw,
        thumbnail=nfc(raw["thumbnail"]) if "thumbnail" in raw else None,
    )


def _build_topic(raw: dict[str, Any]) -> TopicEntry:
    return TopicEntry(
        id=raw["id"],
        title=raw["title"],
        lessons=tuple(raw.get("lessons", ())),
        topics=tuple(_build_topic(topic) for topic in raw.get("topics", ())),
        description=raw.get("description", ""),
    )


def _build_lesson(raw: dict[str, Any]) -> LessonEntry:
    poster = raw.get("poster")
    return LessonEntry(
        id=raw["id"],
        title=raw["title"],
        kind=raw["kind"],
        file=nfc(raw["file"]),
        description=raw.get("description", ""),
        assets=tuple(nfc(path) for path in raw.get("assets", ())),
        subtitles={language: nfc(path) for language, path in raw.get("subtitles", {}).items()},
        poster=nfc(poster) if poster else None,
        duration=float(raw["duration"]) if "duration" in raw else None,
        keywords=tuple(raw.get("keywords", ())),
        thumbnail=nfc(raw["thumbnail"]) if "thumbnail" in raw else None,
        license=raw.get("license", ""),
        attribution=raw.get("attribution", ""),
        author=raw.get("author", ""),
    )
