"""Packs made on the admin pages (issue 16): a draft holds a teacher's uploaded files and
quizzes in drafts/<id>/files under the data dir, and their choices for each file (title,
place, topic). Publishing makes the pack the way a plain folder is made (content.folder_pack),
puts the draft's choices into its pack.json and imports it through Library.import_paths: the
same checks as any import, all or nothing. Once published it is an ordinary pack.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peewee import CharField, IntegerField, JSONField, TextField

from content import durable
from content.errors import PackError
from content.folder_pack import make_pack, next_version
from content.manifest import FORMAT, KINDS
from content.source import MANIFEST_NAME, FolderSource, path_problem, quote
from hub.core.db import BaseModel, connected
from hub.core.errors import HubError
from hub.core.settings import Config
from hub.core.translate import gettext
from hub.library.models import Pack
from hub.library.packs import ImportResult, Library, PackProgress

# The licences a teacher chooses from (docs/pack-format.md); the last: all rights reserved,
# for this school only.
LICENSES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "LicenseRef-school-only")
DRAFT_FIELD = "x-draft"  # which draft made an installed pack: publishing never takes over another
DIGEST_FIELD = "x-draft-digest"  # tells a changed draft from the pack it published last
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 300
MAX_DESCRIPTION_CHARS = 20000
UNPLACED = 1_000_000  # a lesson given no place goes after the placed ones
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


class DraftPack(BaseModel):
    pack_id = CharField(unique=True)
    owner_id = IntegerField()
    title = CharField()
    description = TextField(default="")
    language = CharField()
    subject = CharField(default="")
    author = CharField(default="")
    license = CharField()
    lessons = JSONField(default=dict)  # file name -> {"title", "position", "topic"}
    created_at = CharField()
    published_version = CharField(null=True)

    @classmethod
    def of(cls, owner_id: int | None) -> list[DraftPack]:
        """Drafts of one person, or everyone's (None: an operator's view)."""
        query = cls.select().order_by(cls.id.desc())
        return list(query if owner_id is None else query.where(cls.owner_id == owner_id))


@dataclass
class DraftLesson:
    """One lesson as the draft will publish it."""

    file: str
    kind: str
    title: str
    topic: str
    position: int
    lesson_id: str
    uses: list[str] = field(default_factory=list)  # a page's files, subtitles, a poster
    entry: dict[str, Any] = field(default_factory=dict)  # as the folder maker made it


@dataclass
class DraftView:
    lessons: list[DraftLesson]
    files: list[tuple[str, int]]  # every file of the draft, with its size
    notes: list[str]  # files left out, and why

    def topics(self) -> list[str]:
        return list(dict.fromkeys(lesson.topic for lesson in self.lessons if lesson.topic))


@dataclass(frozen=True)
class Details:
    title: str
    language: str
    license: str
    author: str = ""
    subject: str = ""
    description: str = ""


def check_details(details: Details) -> Details:
    """The details tidied, or HubError (400) naming what is wrong."""
    tidy = Details(*(" ".join(str(value).split()) for value in vars(details).values()))
    tidy = Details(**{**vars(tidy), "description": details.description.strip()})
    if not tidy.title or len(tidy.title) > MAX_TEXT_CHARS:
        raise _bad(gettext("Give the pack a title of 1 to 300 characters."))
    if not _LANGUAGE.fullmatch(tidy.language):
        raise _bad(gettext("Give the language as a short code such as en, fr, sw or pt-BR."))
    if tidy.license not in LICENSES:
        raise _bad(gettext("Choose one of the licences offered."))
    if max(len(tidy.author), len(tidy.subject)) > MAX_TEXT_CHARS:
        raise _bad(gettext("The author and the subject may each be at most 300 characters."))
    if len(tidy.description) > MAX_DESCRIPTION_CHARS:
        raise _bad(gettext("The description may be at most 20,000 characters."))
    return tidy


def file_name_problem(name: str) -> str | None:
    """Why `name` cannot be a file of a draft (a sentence), or None. Files are kept flat:
    a name with a folder in it, or one that climbs out (../), is refused, not trimmed."""
    shown = quote(name[:MAX_NAME_CHARS])
    if not name.strip():
        return gettext("A file has no name; give it one.")
    if "/" in name or "\\" in name:
        return gettext(
            "The file name %(name)s has a folder in it; send the file alone.", name=shown
        )
    if len(name) > MAX_NAME_CHARS:
        return gettext("The file name %(name)s is too long; shorten it.", name=shown)
    if name.startswith(".") or name.lower() == MANIFEST_NAME or path_problem(name):
        return gettext("The file name %(name)s cannot be used; rename the file.", name=shown)
    if name.lower().endswith(".h5p") and "h5p" not in KINDS:
        return gettext("H5P activities cannot be put on this hub yet.")
    return None


def clean_name(name: str) -> str:
    """A file name as kept: NFC, spaces at the ends dropped; HubError when unusable."""
    name = unicodedata.normalize("NFC", name).strip()
    problem = file_name_problem(name)
    if problem:
        raise _bad(problem, "bad_name")
    return name


class PublishRefused(HubError):
    """The import refused the draft: every problem, for the page to list."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__(
            400, "refused", gettext("The pack was not published; nothing changed. Fix this:")
        )
        self.problems = problems


def _bad(message: str, code: str = "bad_draft") -> HubError:
    return HubError(400, code, message)


class Drafts:
    """Drafts on disk and in the database; uploads go through draft_uploads.Uploads."""

    def __init__(self, config: Config, library: Library) -> None:
        self.config = config
        self.library = library
        self.root = config.data_dir / "drafts"

    def files_dir(self, draft: DraftPack) -> Path:
        return self.root / str(draft.id) / "files"

    def create(self, owner_id: int, details: Details) -> DraftPack:
        details = check_details(details)
        with connected():
            draft = DraftPack.create(
                pack_id=self._free_pack_id(details.title),
                owner_id=owner_id,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                **vars(details),
            )
        self.files_dir(draft).mkdir(parents=True, exist_ok=True)
        return draft

    def _free_pack_id(self, title: str) -> str:
        """own-<title>, numbered when a pack or another draft has it: ids stay the same
        across versions, so a draft never takes over a pack it did not make."""
        ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48].strip("-")
        base = f"own-{slug or 'pack'}"
        taken = {d.pack_id for d in DraftPack.select(DraftPack.pack_id)}
        taken |= {p.id for p in Pack.select(Pack.id).where(Pack.id.startswith(base))}
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}-{number}", number + 1
        return candidate

    def update(self, draft: DraftPack, details: Details) -> None:
        for name, value in vars(check_details(details)).items():
            setattr(draft, name, value)
        draft.save()

    def delete(self, draft: DraftPack) -> None:
        draft.delete_instance()
        shutil.rmtree(self.root / str(draft.id), ignore_errors=True)

    def file_names(self, draft: DraftPack) -> list[str]:
        folder = self.files_dir(draft)
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def remove_file(self, draft: DraftPack, name: str) -> None:
        path = self.files_dir(draft) / clean_name(name)
        if not path.is_file():
            raise HubError(404, "no_such_file", gettext("That file is not in this pack."))
        path.unlink()
        choices = dict(draft.lessons)
        choices.pop(path.name, None)
        draft.lessons = choices
        draft.save()

    def view(self, draft: DraftPack) -> DraftView:
        """What publishing would make now: lessons in order with their titles and topics,
        and the files left out with the reason."""
        folder = self.files_dir(draft)
        folder.mkdir(parents=True, exist_ok=True)
        files = [(name, (folder / name).stat().st_size) for name in self.file_names(draft)]
        if not files:
            return DraftView([], [], [])
        try:
            source = FolderSource(folder, self.library.limits)
            with source:
                made = make_pack(source)
        except PackError as err:
            return DraftView([], files, [str(err)])
        lessons = [_lesson(raw, draft.lessons.get(raw["file"], {})) for raw in made.raw["lessons"]]
        lessons.sort(key=lambda lesson: lesson.position)
        # Only the files left out: the summary and the lesson lines describe a folder.
        notes = [note for note in made.notes[1:] if not note.startswith(" ")]
        return DraftView(lessons, files, notes)

    def save_lessons(self, draft: DraftPack, rows: list[dict[str, str]]) -> None:
        """Titles, places and topics from the draft page's form (one row per lesson)."""
        known = set(self.file_names(draft))
        choices: dict[str, dict[str, Any]] = {}
        for row in rows:
            name = row.get("file", "")
            if name not in known:
                raise HubError(404, "no_such_file", gettext("That file is not in this pack."))
            title = " ".join(row.get("title", "").split())
            topic = " ".join(row.get("topic", "").split())
            if not title or len(title) > MAX_TEXT_CHARS or len(topic) > MAX_TEXT_CHARS:
                raise _bad(
                    gettext(
                        "Each lesson needs a title; titles and topics are at most 300 characters."
                    )
                )
            choices[name] = {
                "title": title,
                "topic": topic,
                "position": _place(row.get("position")),
            }
        draft.lessons = {**draft.lessons, **choices}
        draft.save()

    def save_quiz(
        self, draft: DraftPack, title: str, exercise: dict[str, Any], old: str | None
    ) -> str:
        """Write a quiz from the editor as `<title>.json` (replacing `old`, the file it was
        loaded from); returns its file name."""
        title = " ".join(title.split())
        if not title or len(title) > MAX_TEXT_CHARS:
            raise _bad(gettext("Give the quiz a title of 1 to 300 characters."))
        name = clean_name(
            re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", title)[: MAX_NAME_CHARS - 5].strip() + ".json"
        )
        folder = self.files_dir(draft)
        folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(exercise, ensure_ascii=False, indent=2) + "\n"
        durable.write_text(folder / name, data)
        choices = dict(draft.lessons)
        previous = choices.pop(old, {}) if old else {}
        if old and old != name:
            (folder / clean_name(old)).unlink(missing_ok=True)
        choices[name] = {**previous, **choices.get(name, {}), "title": title}
        choices[name].setdefault("topic", "")
        choices[name].setdefault("position", UNPLACED)
        draft.lessons = choices
        draft.save()
        return name

    def read_quiz(self, draft: DraftPack, name: str) -> dict[str, Any]:
        path = self.files_dir(draft) / clean_name(name)
        if not name.lower().endswith(".json") or not path.is_file():
            raise HubError(404, "no_such_file", gettext("That quiz is not in this pack."))
        try:
            return json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            raise _bad(gettext("That file is not a quiz the editor can open.")) from None

    def publish(self, draft: DraftPack, progress: PackProgress | None = None) -> ImportResult:
        """Import the draft as its pack (a new version when it changed), telling `progress`
        how far it is; PublishRefused with every problem when the import refuses it, and
        nothing changes then. Long for a big pack: the admin pages run it as a job
        (library_jobs.publish_work)."""
        view = self.view(draft)
        if not view.lessons:
            raise _bad(gettext("Add a file or a quiz first: a pack needs at least one lesson."))
        raw = self._manifest(draft, view)
        build = self.root / str(draft.id) / "build"
        shutil.rmtree(build, ignore_errors=True)
        try:
            _link_files(self.files_dir(draft), build)
            durable.write_text(build / MANIFEST_NAME, json.dumps(raw, ensure_ascii=False, indent=2))
            outcome = self.library.import_paths([build], progress=progress)[0]
        finally:
            shutil.rmtree(build, ignore_errors=True)
        if outcome.result is None:
            raise PublishRefused(outcome.problems or (outcome.error or "",))
        draft.published_version = outcome.result.version
        draft.save()
        return outcome.result

    def _manifest(self, draft: DraftPack, view: DraftView) -> dict[str, Any]:
        marker = f"{draft.id}:{draft.created_at}"
        installed = self.library.installed(draft.pack_id)
        if installed is not None and installed.get(DRAFT_FIELD) != marker:
            raise HubError(
                409,
                "pack_taken",
                gettext(
                    "A pack with the id %(pack)s came from elsewhere; this draft cannot "
                    "replace it.",
                    pack=draft.pack_id,
                ),
            )
        raw: dict[str, Any] = {
            "format": FORMAT,
            "id": draft.pack_id,
            "version": "1",
            "title": draft.title,
            "language": draft.language,
            "license": draft.license,
        }
        for name, value in (
            ("description", draft.description),
            ("author", draft.author),
            ("attribution", draft.author),
        ):
            if value:
                raw[name] = value
        if draft.subject:
            raw["subjects"] = [draft.subject]
        topics = _topics(view)
        if topics:
            raw["topics"] = topics
        raw["lessons"] = [_lesson_json(lesson) for lesson in view.lessons]
        raw[DRAFT_FIELD] = marker
        raw[DIGEST_FIELD] = _digest(raw, self.files_dir(draft))
        same = installed is not None and installed.get(DIGEST_FIELD) == raw[DIGEST_FIELD]
        raw["version"] = (
            str(installed["version"]) if same and installed else next_version(installed)
        )
        return raw


def _place(text: Any) -> int:
    try:
        return max(0, min(int(str(text).strip()), UNPLACED))
    except (TypeError, ValueError):
        return UNPLACED


def _lesson(raw: dict[str, Any], choice: dict[str, Any]) -> DraftLesson:
    uses = [*raw.get("assets", []), *raw.get("subtitles", {}).values()]
    if raw.get("poster"):
        uses.append(raw["poster"])
    return DraftLesson(
        file=raw["file"],
        kind=raw["kind"],
        title=choice.get("title") or raw["title"],
        topic=choice.get("topic", ""),
        position=int(choice.get("position", UNPLACED)),
        lesson_id=raw["id"],
        uses=uses,
        entry=raw,
    )


def _lesson_json(lesson: DraftLesson) -> dict[str, Any]:
    return {**lesson.entry, "title": lesson.title}


def _topics(view: DraftView) -> list[dict[str, Any]]:
    """One topic per topic name, in the order of their first lessons."""
    topics = []
    for number, name in enumerate(view.topics(), start=1):
        ids = [lesson.lesson_id for lesson in view.lessons if lesson.topic == name]
        topics.append({"id": f"topic-{number}", "title": name, "lessons": ids, "topics": []})
    return topics


def _digest(raw: dict[str, Any], folder: Path) -> str:
    """Changes when the pack would: its pack.json, or the name, size or time of a file."""
    hashed = hashlib.sha256(json.dumps(raw, sort_keys=True).encode("utf-8"))
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        stat = entry.stat()
        hashed.update(f"\0{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return hashed.hexdigest()[:32]


def _link_files(folder: Path, build: Path) -> None:
    """The draft's files beside the pack.json made for them, without copying (hard links;
    a copy where the disk cannot link)."""
    build.mkdir(parents=True)
    for entry in os.scandir(folder):
        try:
            os.link(entry.path, build / entry.name)
        except OSError:
            shutil.copy2(entry.path, build / entry.name)
