"""A pack made from a plain folder of files: what `learnhub content import FOLDER` installs
when the folder has no pack.json, and what `learnhub content make FOLDER` writes as one.

Subfolders are topics. Each PDF, video, audio, picture, HTML page, zipped HTML5 app and quiz
(.json exercise) is a lesson; a page brings the files it uses, a video its subtitles (.vtt,
or .srt converted) and a picture of the same name as its poster. Order and titles come from
the names ("02 - Adding fractions.pdf" is "Adding fractions", second); a name without spaces
("IMG_2034.mp3", "fractions.pdf") gives way to the title inside the file when it has one.
The rules are in docs/pack-format.md ("A plain folder is a pack").
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from content import durable
from content.epub import read_epub
from content.epub_pack import epub_file_pack, is_epub_file
from content.errors import PackError
from content.exercise import parse_exercise
from content.h5p import read_h5p
from content.h5p_pack import h5p_file_pack, is_h5p_file
from content.html_refs import MAX_PAGE_BYTES, PageFiles, page_title
from content.manifest import FORMAT, KIND_EXTENSIONS, version_key
from content.media_titles import clean_title, metadata_title
from content.source import (
    DEFAULT_LIMITS,
    MANIFEST_NAME,
    FolderSource,
    Limits,
    PackSource,
    ZipSource,
    open_source,
    path_problem,
    quote,
)
from content.srt import srt_to_vtt

DIGEST_FIELD = "x-folder-digest"  # tells a changed folder from the one installed
MAX_NOTES = 30  # lines about left-out files; the rest are counted
MAX_EXERCISE_BYTES = 4 * 1024**2
_JUNK_NAMES = {"thumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "system volume information"}
_ORDER = re.compile(r"^\s*(\d{1,6})(?:\s*[-.)_:]\s*|\s+)(?=\S)")
_SUBTITLES = (".vtt", ".srt")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_LEFT_OUT_WHY = {
    ".doc": "save Word documents as PDF to show them",
    ".docx": "save Word documents as PDF to show them",
    ".odt": "save documents as PDF to show them",
    ".ppt": "save presentations as PDF to show them",
    ".pptx": "save presentations as PDF to show them",
    ".odp": "save presentations as PDF to show them",
}
Installed = Callable[[str], Mapping[str, Any] | None]  # pack id -> its installed pack.json


@dataclass(frozen=True)
class PackFields:
    """What the operator sets for a pack made from a folder (None: derived)."""

    title: str | None = None
    language: str | None = None
    subject: str | None = None
    license: str | None = None
    default_language: str = "en"  # when `language` is not given

    def given(self) -> bool:
        return any((self.title, self.language, self.subject, self.license))


NO_FIELDS = PackFields()


@dataclass
class MadePack:
    """pack.json for a folder, the files made for it (subtitles converted to WebVTT), and
    sentences saying what was made and what was left out."""

    raw: dict[str, Any]
    made_files: dict[str, bytes]
    notes: list[str]


@dataclass
class _Lesson:
    path: str
    kind: str
    title: str
    order: tuple[int, str]
    assets: list[str] = field(default_factory=list)
    subtitles: dict[str, str] = field(default_factory=dict)
    poster: str | None = None


class MadeSource(PackSource):
    """A folder seen through the pack.json made for it: its files plus the made ones."""

    def __init__(self, inner: FolderSource, made: MadePack) -> None:
        super().__init__(inner.name)
        self.made = made
        self._inner = inner
        self.parallel_reads = inner.parallel_reads  # the made files are in memory
        manifest = json.dumps(made.raw, ensure_ascii=False, indent=2).encode("utf-8")
        self._made_files = {**made.made_files, MANIFEST_NAME: manifest}
        self._sizes = {path: inner.size(path) for path in inner.paths()}
        self._sizes.update({path: len(data) for path, data in self._made_files.items()})

    def open(self, path: str) -> BinaryIO:
        key = self._key(path)
        if key in self._made_files:
            return io.BytesIO(self._made_files[key])
        return self._inner.open(key)

    def close(self) -> None:
        self._inner.close()


@dataclass
class OpenedPack:
    """A pack ready to stage: its source, and what was said about making it."""

    source: PackSource
    notes: list[str]


@contextmanager
def open_pack(
    path: Path,
    limits: Limits = DEFAULT_LIMITS,
    fields: PackFields = NO_FIELDS,
    installed: Installed | None = None,
) -> Iterator[OpenedPack]:
    """open_source(path), except that a folder without pack.json is made into a pack."""
    source = open_source(path, limits)
    try:
        if isinstance(source, FolderSource) and not source.has(MANIFEST_NAME):
            made = make_pack(source, fields, installed)
            source = MadeSource(source, made)
            yield OpenedPack(source, made.notes)
        elif isinstance(source, ZipSource) and is_h5p_file(Path(path), source):
            language = fields.language or fields.default_language
            yield OpenedPack(h5p_file_pack(Path(path), source, language, installed), [])
        elif isinstance(source, ZipSource) and is_epub_file(Path(path), source):
            language = fields.language or fields.default_language
            yield OpenedPack(epub_file_pack(Path(path), source, language, installed), [])
        else:
            yield OpenedPack(source, _unused_fields(source, fields))
    finally:
        source.close()


def is_plain_folder(path: Path, found: list[Path], limits: Limits = DEFAULT_LIMITS) -> bool:
    """Whether `path` is a folder of files to make a pack from, given what find_packs found
    in it: no pack.json, and no pack inside (zips that are apps or archives are files)."""
    path = Path(path)
    if not path.is_dir() or (path / MANIFEST_NAME).is_file():
        return False
    return all(_is_plain_zip(candidate, limits) for candidate in found)


def _is_plain_zip(path: Path, limits: Limits) -> bool:
    if not path.is_file():
        return False
    try:
        with ZipSource(path, limits) as archive:
            return not archive.has(MANIFEST_NAME)
    except (PackError, OSError):
        return False  # a damaged zip is still a pack to refuse, with its reason


def _unused_fields(source: PackSource, fields: PackFields) -> list[str]:
    if not fields.given():
        return []
    return [
        f"{source.name} has its own pack.json, so --title, --language, --subject and "
        "--license were not used for it; edit its pack.json instead."
    ]


def make_pack(
    source: FolderSource, fields: PackFields = NO_FIELDS, installed: Installed | None = None
) -> MadePack:
    """The pack a folder makes; PackError if it holds nothing that can be a lesson."""
    maker = _Maker(source, fields)
    lessons = maker.lessons()
    if not lessons:
        raise PackError(
            f"{source.name} has no pack.json and no files that can be lessons (PDF, video, "
            "audio, pictures, web pages, zipped apps); "
            + (maker.left_out[0] if maker.left_out else "it is empty.")
        )
    raw = maker.manifest(lessons)
    digest = _digest(source, raw, maker.made_files)
    previous = installed(raw["id"]) if installed else None
    raw["version"] = _version(previous, digest)
    raw[DIGEST_FIELD] = digest
    notes = [_summary(source.name, raw, lessons), *_lesson_lines(lessons), *maker.left_out_notes()]
    return MadePack(raw, maker.made_files, notes)


def write_pack_json(
    folder: Path, fields: PackFields = NO_FIELDS, installed: Installed | None = None
) -> MadePack:
    """Write the pack.json a folder makes into it, with the subtitles converted to WebVTT
    beside their .srt files, for the operator to edit and import. Its version is above the
    installed one, so importing it (edited or not) upgrades a pack made from the folder."""
    source = FolderSource(Path(folder))
    with source:
        if source.has(MANIFEST_NAME):
            raise PackError(f"{source.name} already has a pack.json; edit it, or remove it first.")
        made = make_pack(source, fields, installed)
        root = source.root
    made.raw["version"] = next_version(installed(made.raw["id"]) if installed else None)
    del made.raw[DIGEST_FIELD]  # pack.json is now the operator's: its version says what changed
    for path, data in made.made_files.items():
        durable.write_bytes(root / path, data)
    durable.write_text(
        root / MANIFEST_NAME, json.dumps(made.raw, ensure_ascii=False, indent=2) + "\n"
    )
    return made


def next_version(installed: Mapping[str, Any] | None) -> str:
    """A version above the installed one ("1" when none is installed)."""
    if installed is None:
        return "1"
    return str(version_key(str(installed["version"]))[0] + 1)


def _version(installed: Mapping[str, Any] | None, digest: str) -> str:
    if installed is not None and installed.get(DIGEST_FIELD) == digest:
        return str(installed["version"])  # nothing changed: the same version, "unchanged"
    return next_version(installed)


def _digest(source: FolderSource, raw: dict[str, Any], made_files: dict[str, bytes]) -> str:
    """Changes when the pack would: its manifest, or the name, size or time of a file in it."""
    hashed = hashlib.sha256(json.dumps(raw, sort_keys=True).encode("utf-8"))
    for path in sorted(source.paths()):
        hashed.update(f"\0{path}\0{source.size(path)}\0{source.modified[path]}".encode())
    for path, data in sorted(made_files.items()):
        hashed.update(f"\0{path}\0".encode() + hashlib.sha256(data).digest())
    return hashed.hexdigest()[:32]


class _Maker:
    """One pass over a folder's listing: claims (a page's files, a video's subtitles and
    poster), then a lesson for each unclaimed file that has a kind."""

    def __init__(self, source: FolderSource, fields: PackFields) -> None:
        self.source = source
        self.fields = fields
        self.language = fields.language or fields.default_language
        self.claimed: set[str] = set()
        self.left_out: list[str] = []
        self.made_files: dict[str, bytes] = {}
        self.paths = [path for path in source.paths() if self._usable(path)]
        self.path_set = set(self.paths)
        self.by_stem: dict[str, list[str]] = {}  # "v/intro" -> v/intro.jpg, v/intro.en.srt...
        for path in self.paths:
            stem = path[: -len(_suffix(path))] if _suffix(path) else path
            self.by_stem.setdefault(stem, []).append(path)
            language = stem.rsplit(".", 1)
            if _suffix(path) in _SUBTITLES and len(language) == 2 and _LANGUAGE.match(language[1]):
                self.by_stem.setdefault(language[0], []).append(path)
        self.page_files = PageFiles(self._exists, self._head)

    def _usable(self, path: str) -> bool:
        parts = path.split("/")
        if any(part.startswith(".") or part.lower() in _JUNK_NAMES for part in parts):
            return False  # hidden and system files: .DS_Store, ._name, Thumbs.db
        problem = path_problem(path)
        if problem:
            self.left_out.append(f"{quote(path)} was left out: its name {problem}; rename it.")
        return problem is None

    def lessons(self) -> list[_Lesson]:
        pages = self._pages()
        media = self._media()
        others = [self._lesson(path) for path in self.paths if path not in self.claimed]
        found = pages + media + [lesson for lesson in others if lesson]
        return sorted(found, key=lambda lesson: _sort_key(lesson.path, lesson.order))

    def _pages(self) -> list[_Lesson]:
        """Articles: a folder's index.html stands for the folder (its site); any other page
        is a lesson of its own. Files a page loads are its assets; pages it links to come
        along too, so its links work."""
        pages = [path for path in self.paths if _suffix(path) in KIND_EXTENSIONS["article"]]
        pages.sort(key=lambda path: (PurePosixPath(path).stem.lower() != "index", path))
        lessons = []
        for page in pages:
            if page in self.claimed:
                continue
            is_index = PurePosixPath(page).stem.lower() == "index"
            used = self.page_files.used(page, whole_site=is_index)
            for missing in used.missing:
                self.left_out.append(
                    f"{quote(page)} uses {quote(missing)}, which is not in the folder."
                )
            pages_too = is_index  # a site's pages are the site; other linked pages stay lessons
            self.claimed.update(p for p in used.found if pages_too or _kind_of(p) != "article")
            self.claimed.add(page)
            title = clean_title(page_title(self._head(page)))
            lesson = self._named(page, "article", title)
            lesson.assets = used.found
            lessons.append(lesson)
        return lessons

    def _media(self) -> list[_Lesson]:
        """Videos and audio, with their subtitles and (videos) poster."""
        lessons = []
        kinds = {"video", "audio"}
        for path in self.paths:
            kind = _kind_of(path)
            if kind not in kinds or path in self.claimed:
                continue
            lesson = self._named(path, kind, self._inner_title(path))
            lesson.subtitles = self._subtitles_for(path)
            if kind == "video":
                lesson.poster = self._poster_for(path)
            self.claimed.add(path)
            lessons.append(lesson)
        return lessons

    def _lesson(self, path: str) -> _Lesson | None:
        suffix = _suffix(path)
        kind = _kind_of(path)
        if suffix in _SUBTITLES:
            return self._leave(path, "there is no video or audio of the same name")
        if kind in ("pdf", "image"):
            return self._named(path, kind, self._inner_title(path) if kind == "pdf" else None)
        if kind == "app":
            return self._app(path)
        if kind == "exercise":
            return self._exercise(path)
        if kind in ("epub", "h5p"):
            return self._archive(path, kind)
        why = _LEFT_OUT_WHY.get(suffix, "it is not a kind of file the hub shows")
        return self._leave(path, why)

    def _leave(self, path: str, why: str) -> _Lesson | None:
        """Note why `path` is no lesson; None, the lesson there is."""
        self.left_out.append(f"{quote(path)} was left out: {why}.")
        return None

    def _app(self, path: str) -> _Lesson | None:
        with self.source.open_file(path) as stream:
            head = stream.read(4)
        if head != b"PK\x03\x04":
            return self._leave(path, "it is not a zip file")
        try:
            with ZipSource(self.source.root / path, name=quote(path)) as app:
                has_entry = app.has("index.html")
        except PackError as err:
            return self._leave(path, f"{err}".rstrip("."))
        if not has_entry:
            return self._leave(path, "a zipped app needs index.html at the root of the zip")
        return self._named(path, "app", None)

    def _archive(self, path: str, kind: str) -> _Lesson | None:
        """A book or an H5P activity, left out (saying why) when the import would refuse it."""
        read = read_epub if kind == "epub" else read_h5p
        try:
            title = read(self.source.root / path, name=quote(path)).title
        except PackError as err:
            return self._leave(path, f"{err}".rstrip("."))
        return self._named(path, kind, title or None)

    def _exercise(self, path: str) -> _Lesson | None:
        if self.source.size(path) > MAX_EXERCISE_BYTES:
            return self._leave(path, "it is too large to be a quiz")
        try:
            parse_exercise(self.source.read(path), path)
        except PackError as err:
            return self._leave(path, f"it is not a quiz the hub reads ({err})".rstrip("."))
        return self._named(path, "exercise", None)

    def _subtitles_for(self, media: str) -> dict[str, str]:
        stem = media[: -len(_suffix(media))]
        found: dict[str, str] = {}
        for path in self.by_stem.get(stem, []):
            if _suffix(path) not in _SUBTITLES:
                continue
            language = path[len(stem) + 1 : -len(_suffix(path))] or self.language
            self.claimed.add(path)
            vtt = path[: -len(_suffix(path))] + ".vtt"
            if _suffix(path) == ".srt":
                if vtt in found.values() or self.source.has(vtt):
                    continue  # the .vtt beside it wins
                self.made_files[vtt] = srt_to_vtt(self.source.read(path), path)
            found.setdefault(language, vtt)
        return found

    def _poster_for(self, video: str) -> str | None:
        stem = video[: -len(_suffix(video))]
        for path in self.by_stem.get(stem, []):
            if path not in self.claimed and _kind_of(path) == "image":
                self.claimed.add(path)
                return path
        return None

    def _named(self, path: str, kind: str, inner_title: str | None) -> _Lesson:
        order, from_name = _name_title(_stem(path))
        title = inner_title if inner_title and _is_bare(path) else from_name
        return _Lesson(path, kind, title, (order, from_name.lower()))

    def _inner_title(self, path: str) -> str | None:
        if not _is_bare(path):
            return None  # the name is the title: reading 2,000 files' heads took seconds
        with self.source.open_file(path) as stream:
            return metadata_title(path, stream)

    def _exists(self, path: str) -> bool:
        return path in self.path_set

    def _head(self, path: str) -> bytes:
        with self.source.open_file(path) as stream:
            return stream.read(MAX_PAGE_BYTES)

    def manifest(self, lessons: list[_Lesson]) -> dict[str, Any]:
        ids = _lesson_ids(lessons)
        folder_title = _name_title(Path(self.source.root).name)[1]
        raw: dict[str, Any] = {
            "format": FORMAT,
            "id": pack_id_for(Path(self.source.root).name),
            "version": "1",
            "title": self.fields.title or folder_title,
            "language": self.language,
        }
        if self.fields.subject:
            raw["subjects"] = [self.fields.subject]
        if self.fields.license:
            raw["license"] = self.fields.license
        topics = _topics(lessons, ids)
        if topics:
            raw["topics"] = topics
        raw["lessons"] = [_lesson_json(lesson, ids[lesson.path]) for lesson in lessons]
        return raw

    def left_out_notes(self) -> list[str]:
        shown = self.left_out[:MAX_NOTES]
        more = len(self.left_out) - len(shown)
        return shown + ([f"... and {more} more files were left out."] if more else [])


def pack_id_for(folder_name: str) -> str:
    """The pack id of a folder: "Grade 4 Maths" -> "folder-grade-4-maths", the same every
    time, so importing the folder again upgrades the same pack."""
    slug = _slug(folder_name)[:50].strip("-")
    if not slug:  # a name in a script without Latin letters: stable all the same
        slug = hashlib.sha256(unicodedata.normalize("NFC", folder_name).encode()).hexdigest()[:12]
    return f"folder-{slug}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _name_title(stem: str) -> tuple[int, str]:
    """("02 - Adding fractions") -> (2, "Adding fractions"); no number sorts after numbers."""
    match = _ORDER.match(stem)
    order = int(match[1]) if match else 1_000_000
    rest = stem[match.end() :] if match else stem
    title = clean_title(rest.replace("_", " ")) or clean_title(stem) or stem.strip() or "Lesson"
    return order, title[:300]


def _sort_key(path: str, order: tuple[int, str]) -> tuple[Any, ...]:
    """Folders by their own order, then files: numbered first by number, then by name."""
    folders = [(1, _name_title(part)[0], part.lower()) for part in path.split("/")[:-1]]
    return (*folders, (0, *order))


def _stem(path: str) -> str:
    """The name that stands for a file: a site's index.html goes by its folder's name."""
    pure = PurePosixPath(path)
    if pure.stem.lower() == "index" and pure.parent.name:
        return pure.parent.name
    return pure.stem


def _is_bare(path: str) -> bool:
    """A name without spaces ("IMG_2034"): the title inside the file is a better one."""
    return " " not in _stem(path).strip()


def _suffix(path: str) -> str:
    """PurePosixPath(path).suffix.lower(), without building a path: called about seven
    times per file, it was a tenth of making a 2,000-file folder's pack."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def _kind_of(path: str) -> str | None:
    suffix = _suffix(path)
    for kind, extensions in KIND_EXTENSIONS.items():
        if suffix in extensions:
            return kind
    return None


def _lesson_ids(lessons: list[_Lesson]) -> dict[str, str]:
    """A stable id per lesson from its name (without the order number, so reordering keeps
    progress); a clash takes its folder's name, then a number."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for lesson in lessons:
        stem = _stem(lesson.path)
        match = _ORDER.match(stem)
        base = _slug(stem[match.end() :] if match else stem)[:60] or "lesson"
        folder = _slug(str(PurePosixPath(lesson.path).parent).replace(".", ""))
        candidates = [base, f"{folder}-{base}"[:60].strip("-") if folder else base]
        chosen = next((c for c in candidates if c not in taken), None)
        number = 2
        while chosen is None:
            candidate = f"{base[:56]}-{number}"
            chosen = candidate if candidate not in taken else None
            number += 1
        taken.add(chosen)
        ids[lesson.path] = chosen
    return ids


def _topics(lessons: list[_Lesson], ids: dict[str, str]) -> list[dict[str, Any]]:
    """One topic per folder holding lessons (at any depth), nested like the folders."""
    roots: list[dict[str, Any]] = []
    by_folder: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for lesson in lessons:
        parts = lesson.path.split("/")[:-1]
        if _stem(lesson.path) != PurePosixPath(lesson.path).stem:
            parts = parts[:-1]  # a site's index.html stands for its folder, in the parent topic
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in by_folder:
                by_folder[folder] = _topic(folder, used_ids)
                parent = by_folder.get("/".join(parts[: depth - 1]))
                (parent["topics"] if parent else roots).append(by_folder[folder])
        if parts:
            by_folder["/".join(parts)]["lessons"].append(ids[lesson.path])
    return roots


def _topic(folder: str, used_ids: set[str]) -> dict[str, Any]:
    base = _slug(folder.replace("/", "-"))[:58] or "topic"
    topic_id, number = base, 2
    while topic_id in used_ids:
        topic_id, number = f"{base}-{number}", number + 1
    used_ids.add(topic_id)
    return {
        "id": topic_id,
        "title": _name_title(folder.rsplit("/", 1)[-1])[1],
        "lessons": [],
        "topics": [],
    }


def _lesson_json(lesson: _Lesson, lesson_id: str) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": lesson_id,
        "title": lesson.title,
        "kind": lesson.kind,
        "file": lesson.path,
    }
    if lesson.assets:
        raw["assets"] = lesson.assets
    if lesson.subtitles:
        raw["subtitles"] = lesson.subtitles
    if lesson.poster:
        raw["poster"] = lesson.poster
    return raw


def _summary(name: str, raw: dict[str, Any], lessons: list[_Lesson]) -> str:
    topics = sum(1 for _ in _walk(raw.get("topics", [])))
    return (
        f"{name} has no pack.json, so pack {raw['id']} was made from its files: "
        f"{len(lessons)} lesson(s) in {topics} topic(s), titled {quote(raw['title'])}."
    )


def _walk(topics: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for topic in topics:
        yield topic
        yield from _walk(topic["topics"])


def _lesson_lines(lessons: list[_Lesson]) -> list[str]:
    shown = [
        f"  {lesson.kind}: {quote(lesson.title)} from {quote(lesson.path)}"
        for lesson in lessons[:MAX_NOTES]
    ]
    more = len(lessons) - len(shown)
    return shown + ([f"  ... and {more} more lessons."] if more else [])
