"""One Kolibri resource as a hub lesson: its kind, its main file, subtitles, poster, and,
for an exercise, the hub exercise made from it. A resource that cannot be a lesson is
skipped with a reason; one whose files are not on the stick is missing, with a reason."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from content.errors import PackError
from content.exercise import parse_exercise
from content.kolibri import perseus, qti
from content.kolibri.database import Assessment, Node, NodeFile
from content.kolibri.perseus import Unsupported
from content.kolibri.storage import Storage
from content.manifest import IMAGE_EXTENSIONS
from content.source import ZipSource

_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3}|[A-Za-z]{5,8})(-[A-Za-z0-9]{1,8})*")
MAX_KEYWORDS = 20
# Kolibri's Creative Commons licence names (le-utils; Studio links each to version 4.0)
_LICENCES = {
    "CC BY": "CC-BY-4.0",
    "CC BY-SA": "CC-BY-SA-4.0",
    "CC BY-ND": "CC-BY-ND-4.0",
    "CC BY-NC": "CC-BY-NC-4.0",
    "CC BY-NC-SA": "CC-BY-NC-SA-4.0",
    "CC BY-NC-ND": "CC-BY-NC-ND-4.0",
}
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9.]+")
# Kolibri kind -> (hub kind, main file extensions, presets in the order preferred)
_KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "video": ("video", ("mp4", "webm"), ("high_res_video", "low_res_video", "video")),
    "audio": ("audio", ("mp3", "ogg", "m4a", "wav"), ("audio",)),
    "html5": ("app", ("zip",), ("html5_zip",)),
    "exercise": ("exercise", ("perseus", "zip"), ("exercise", "qti")),  # Perseus, or QTI
    "h5p": ("h5p", ("h5p",), ("h5p",)),
}
_DOCUMENTS = {"pdf": ("pdf", ("document",)), "epub": ("epub", ("epub",))}
_WHY_NOT = {
    "slideshow": "slideshows are not a lesson kind on this hub",
    "zim": "ZIM files in channels are not imported; import the .zim file itself",
    "bloompub": "Bloom books are not a lesson kind on this hub",
}


@dataclass
class Lesson:
    entry: dict[str, Any]  # the lesson in pack.json
    files: dict[str, tuple[str, str, int]]  # pack path -> (md5, extension, size)
    made: dict[str, bytes] = field(default_factory=dict)  # pack path -> bytes (exercises)


class Skipped(Exception):
    """The resource is not a lesson here: the reason, a phrase."""


class Missing(Exception):
    """The resource's files are not (all) on the stick: which, a phrase."""


def language_tag(code: str, subcode: str) -> str | None:
    tag = f"{code}-{subcode}" if subcode else code
    return tag if _LANGUAGE_TAG.fullmatch(tag) and len(tag) <= 35 else None


def make_lesson(
    node: Node,
    files: list[NodeFile],
    storage: Storage,
    languages: dict[str, str],
    assessment: Assessment | None,
    tags: list[str],
) -> Lesson:
    """The lesson for a resource; Skipped or Missing saying why not."""
    kind, extensions, presets = _kind(node, files)
    main = _main_file(files, extensions, presets, storage)
    path = _path(main)
    lesson = Lesson(_entry(node, kind, path, tags), {path: _stored(main, storage)})
    if kind == "exercise":
        _exercise(lesson, node, main, storage, assessment)
    elif kind == "app":
        _check_app(main, storage)
    _attach(lesson, files, storage, languages, with_subtitles=kind == "video")
    return lesson


def _kind(node: Node, files: list[NodeFile]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    if node.kind in _KINDS:
        return _KINDS[node.kind]
    if node.kind == "document":
        mains = [f for f in files if not f.thumbnail and not f.supplementary]
        for extension, (kind, presets) in _DOCUMENTS.items():
            if any(f.extension == extension for f in mains):
                return kind, (extension,), presets
        raise Skipped("its document is neither a PDF nor an EPUB")
    other = f"resources of kind {node.kind[:40]!r} are not a lesson kind on this hub"
    raise Skipped(_WHY_NOT.get(node.kind, other))


def _main_file(
    files: list[NodeFile], extensions: tuple[str, ...], presets: tuple[str, ...], storage: Storage
) -> NodeFile:
    candidates = [
        f for f in files if not f.thumbnail and not f.supplementary and f.extension in extensions
    ]
    if not candidates:
        raise Skipped("it has no file to show")
    rank = {preset: index for index, preset in enumerate(presets)}
    candidates.sort(key=lambda f: (rank.get(f.preset, len(rank)), f.priority))
    reasons = []
    for candidate in candidates:
        _, why = storage.find(candidate.md5, candidate.extension, candidate.size)
        if not why:
            return candidate
        reasons.append(f"{candidate.md5}.{candidate.extension}: {why}")
    raise Missing("; ".join(reasons[:3]))


def _path(file: NodeFile) -> str:
    return f"files/{file.md5}.{file.extension}"


def _stored(file: NodeFile, storage: Storage) -> tuple[str, str, int]:
    size, _ = storage.find(file.md5, file.extension, file.size)
    return file.md5, file.extension, size


def _entry(node: Node, kind: str, path: str, tags: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": node.id, "title": node.title.strip() or node.id, "kind": kind}
    entry["file"] = path if kind != "exercise" else f"exercises/{node.id}.json"
    if node.description.strip():
        entry["description"] = node.description.strip()
    if node.duration and kind in ("video", "audio"):
        entry["duration"] = node.duration
    keywords = list(dict.fromkeys(tag[:100] for tag in tags))[:MAX_KEYWORDS]
    if keywords:
        entry["keywords"] = keywords
    for key, value in (
        ("license", _licence_id(node.license)),
        ("attribution", node.license_owner.strip()),  # the copyright holder
        ("author", node.author.strip()),
    ):
        if value:
            entry[key] = value
    return entry


def _licence_id(name: str) -> str:
    """A Kolibri licence name as an SPDX id ("CC BY-SA" -> "CC-BY-SA-4.0"), else as a
    LicenseRef ("Special Permissions" -> "LicenseRef-Special-Permissions"); "" for none."""
    name = name.strip()
    if name in _LICENCES:
        return _LICENCES[name]
    words = _NOT_IN_ID.sub("-", name).strip("-")
    return f"LicenseRef-{words}" if words else ""


def _exercise(
    lesson: Lesson, node: Node, main: NodeFile, storage: Storage, assessment: Assessment | None
) -> None:
    if assessment is None:
        raise Skipped("the channel gives no questions for this exercise")
    try:
        item_ids = json.loads(assessment.item_ids)
    except (json.JSONDecodeError, RecursionError):
        item_ids = None
    if not isinstance(item_ids, list) or not all(isinstance(i, str) for i in item_ids):
        raise Skipped("the channel's list of its questions is not readable")
    try:
        convert = qti.convert if main.extension == "zip" else perseus.convert
        with storage.open_file(main.md5, main.extension) as stream:
            exercise = convert(stream, item_ids, assessment.mastery_model, assessment.randomize)
        data = json.dumps(exercise, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        parse_exercise(data, f"exercise {node.id}")
    except Unsupported as why:
        raise Skipped(str(why)) from None
    except PackError as err:
        raise Skipped(f"its questions do not make a hub exercise ({err})") from None
    lesson.files = {}  # the .perseus or QTI zip itself is not served; the made exercise is
    lesson.made[lesson.entry["file"]] = data


def _check_app(main: NodeFile, storage: Storage) -> None:
    """The checks staging makes of an app, made here so one bad zip skips its lesson
    instead of refusing the channel."""
    path = storage.root / main.md5[0] / main.md5[1] / f"{main.md5}.{main.extension}"
    try:
        with ZipSource(path, storage.limits, f"{main.md5}.zip") as app:
            if not app.has("index.html"):
                raise Skipped("its HTML5 app has no index.html at the top")
    except (PackError, OSError) as err:
        raise Skipped(f"its HTML5 app is refused: {str(err).rstrip('.')}") from None


def _attach(
    lesson: Lesson,
    files: list[NodeFile],
    storage: Storage,
    languages: dict[str, str],
    *,
    with_subtitles: bool,
) -> None:
    """Subtitles (WebVTT, one per language) and a poster, when they are on the stick."""
    subtitles: dict[str, str] = {}
    for file in sorted(files, key=lambda f: f.priority):
        if storage.find(file.md5, file.extension, file.size)[1]:
            continue
        if file.thumbnail and "." + file.extension in IMAGE_EXTENSIONS:
            if "poster" not in lesson.entry:
                lesson.entry["poster"] = _path(file)
                lesson.files[_path(file)] = _stored(file, storage)
        elif with_subtitles and file.extension == "vtt" and file.language in languages:
            tag = languages[file.language]
            if tag not in subtitles:
                subtitles[tag] = _path(file)
                lesson.files[_path(file)] = _stored(file, storage)
    if subtitles:
        lesson.entry["subtitles"] = subtitles
