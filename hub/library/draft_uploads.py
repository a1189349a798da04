"""Uploads from a phone or laptop into a draft pack, or of a pack .zip or ZIM file to import.

A browser with JavaScript sends a file in pieces (PUT with Content-Range), each appended to a
staging file after checking that it starts exactly where the file ends, as central's sync
uploads do (sync/central/uploads.py): a dropped Wi-Fi connection resumes from `received`.
A plain form sends a file whole. Either way the space is checked first (the draft space
setting and the disk), and a whole file goes into its draft, or to the library's import.
Uploads left unfinished for two days are swept.

A whole upload is put in its place once, whatever happens to the answer: the client that
lost it (or was refused at the last piece: the hub busy, the draft full) asks where the upload
stands (GET: received, or done with its job) and then only asks to finish it (POST), without
sending a byte again. A refusal that cannot pass by waiting drops the upload whole and says
in one sentence what is wrong, so the file is simply sent again.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from peewee import CharField, FloatField, ForeignKeyField, IntegerField

from content.durable import fsync_dir
from content.source import size_text
from content.zim import is_zim_path
from hub.core.db import BaseModel, connected
from hub.core.errors import HubError
from hub.core.jobs import Job, JobRefused, JobRunner
from hub.core.translate import gettext
from hub.library.drafts import DraftPack, Drafts, clean_name
from hub.library.library_jobs import import_work

MAX_CHUNK = 8 * 1024**2  # one piece; the page sends 4 MiB
MAX_AGE_SECONDS = 2 * 24 * 3600  # an upload untouched this long was abandoned
MAX_OPEN_PER_PERSON = 16
KEEP_FINISHED = 256  # finished uploads remembered for a client whose last answer was lost
DISK_RESERVE = 64 * 1024**2  # left free on the disk for the database and the journal
PIECE = 1024**2  # copied at a time, so a chunk never sits whole in memory
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_RANGE = re.compile(r"bytes (\d{1,15})-(\d{1,15})/(\d{1,15})")
# packs, and an H5P activity or a book alone (a pack of one lesson); ZIMs by is_zim_path
_IMPORTABLE = (".zip", ".h5p", ".epub")


class DraftUpload(BaseModel):
    upload_id = CharField(primary_key=True)
    draft = ForeignKeyField(DraftPack, null=True, on_delete="CASCADE")
    owner_id = IntegerField()
    name = CharField()
    size = IntegerField()
    touched = FloatField()


@dataclass(frozen=True)
class Finished:
    """An upload put in its place: its draft, or the job importing it."""

    owner_id: int
    draft_id: int | None
    size: int
    job_id: int | None = None


class Uploads:
    def __init__(self, drafts: Drafts) -> None:
        self.drafts = drafts
        self.config = drafts.config
        self.parts = drafts.root / "uploads"
        self.imports = drafts.root / "imports"
        # One finish at a time, so a finish asked twice (a resent last piece) happens once.
        self._finishing = threading.Lock()
        self._finished: OrderedDict[str, Finished] = OrderedDict()

    def start(self, owner_id: int, draft: DraftPack | None, name: str, size: object) -> DraftUpload:
        """An upload of `size` bytes named `name` into `draft` (None: a pack or ZIM to
        import); the same file started again by the same person is the same upload."""
        name = clean_name(name)
        if draft is None and not (name.lower().endswith(_IMPORTABLE) or is_zim_path(Path(name))):
            raise HubError(
                400,
                "not_importable",
                gettext(
                    "The hub imports only a pack or a zipped Kolibri export (.zip), a Kiwix "
                    "library (.zim), an H5P activity (.h5p) or a book (.epub)."
                ),
            )
        size = _size(size, self.config.draft_space_bytes)
        with connected():
            same = DraftUpload.get_or_none(
                DraftUpload.owner_id == owner_id,
                DraftUpload.draft == draft,
                DraftUpload.name == name,
                DraftUpload.size == size,
            )
            if same is not None and self._part(same).is_file():
                return same
            self.sweep()
            self._check_count(owner_id, draft)
            self.check_room(size)
            upload = DraftUpload.create(
                upload_id=secrets.token_hex(16),
                draft=draft,
                owner_id=owner_id,
                name=name,
                size=size,
                touched=time.time(),
            )
        self.parts.mkdir(parents=True, exist_ok=True)
        self._part(upload).touch()
        return upload

    def _check_count(self, owner_id: int, draft: DraftPack | None) -> None:
        mine = DraftUpload.select().where(DraftUpload.owner_id == owner_id).count()
        if mine >= MAX_OPEN_PER_PERSON:
            raise HubError(
                429,
                "too_many_uploads",
                gettext("You have %(num)d unfinished uploads; finish them first.", num=mine),
            )
        if draft is not None:
            files = len(self.drafts.file_names(draft))
            if files >= self.config.max_pack_files:
                raise HubError(
                    413,
                    "too_many_files",
                    gettext("A pack may hold at most %(num)d files.", num=files),
                )

    def check_room(self, size: int) -> None:
        """507 in words when `size` more bytes would pass the draft space or fill the disk
        (counting what unfinished uploads still have to send)."""
        self.drafts.root.mkdir(parents=True, exist_ok=True)
        pending = self._pending()
        used = _bytes_under(self.drafts.root)
        limit = self.config.draft_space_bytes
        if used + pending + size > limit:
            raise HubError(
                507,
                "draft_space_full",
                gettext(
                    "There is no room for this file: packs being made may take %(limit)s, "
                    "%(used)s is taken and this file needs %(size)s. Publish or delete a "
                    "draft, or ask the operator to raise draft_space_bytes.",
                    limit=size_text(limit),
                    used=size_text(used + pending),
                    size=size_text(size),
                ),
            )
        free = shutil.disk_usage(self.drafts.root).free - pending - DISK_RESERVE
        if size > free:
            raise HubError(
                507,
                "disk_full",
                gettext(
                    "The hub's disk has %(free)s free; this file needs %(size)s. Remove "
                    "packs or files the hub no longer needs, then try again.",
                    free=size_text(max(free, 0)),
                    size=size_text(size),
                ),
            )

    def _pending(self) -> int:
        total = 0
        for upload in DraftUpload.select():
            total += max(upload.size - self.received(upload), 0)
        return total

    def received(self, upload: DraftUpload) -> int:
        try:
            return self._part(upload).stat().st_size
        except FileNotFoundError:
            return 0

    def append(
        self, upload: DraftUpload, content_range: str | None, length: int | None, body: IO[bytes]
    ) -> int:
        """Add one piece; returns the bytes received so far. 409 (with where the upload
        stands) when the piece does not start there; 400 when its Content-Range lies."""
        start, end, total = _parse_range(content_range)
        if total != upload.size:
            raise _bad_range(
                gettext(
                    "Content-Range says the file has %(total)d bytes; the upload announced "
                    "%(size)d.",
                    total=total,
                    size=upload.size,
                )
            )
        count = end - start + 1
        if count > MAX_CHUNK:
            raise HubError(
                413,
                "chunk_too_large",
                gettext("A piece may be at most %(size)s.", size=size_text(MAX_CHUNK)),
            )
        if length != count:
            raise _bad_range(
                gettext(
                    "The piece holds %(length)s bytes but Content-Range names %(count)d.",
                    length=length,
                    count=count,
                )
            )
        with open(self._part(upload), "ab") as out:
            fcntl.flock(out, fcntl.LOCK_EX)  # two tabs sending the same piece: one wins
            received = out.seek(0, os.SEEK_END)
            if start != received:
                raise HubError(
                    409,
                    "wrong_offset",
                    gettext(
                        "This piece does not start at byte %(received)d, where the upload "
                        "stands; resume from there.",
                        received=received,
                    ),
                    {"X-Received": str(received)},
                )
            _copy_exactly(body, out, count, received)
        upload.touched = time.time()
        upload.save()
        return received + count

    def finished(self, owner_id: int, upload_id: str) -> Finished | None:
        """The person's upload if it was finished lately (since the hub started)."""
        with self._finishing:
            found = self._finished.get(upload_id)
        return found if found is not None and found.owner_id == owner_id else None

    def finish(self, upload: DraftUpload) -> Path:
        """Put a whole upload into its draft's files. A refusal drops the upload (the file
        is sent again), saying why in one sentence."""
        assert upload.draft is not None
        with self._finishing:
            self._check_whole(upload)
            target = self.drafts.files_dir(upload.draft) / upload.name
            try:
                self._check_files(upload.draft, target)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self._part(upload), target)
                fsync_dir(target.parent)  # the rename survives a power cut before the row goes
            except HubError:
                self.discard(upload)
                raise
            except OSError as err:
                self.discard(upload)
                raise HubError(
                    500,
                    "not_stored",
                    gettext(
                        "The hub could not store %(name)s (%(why)s); send it again.",
                        name=upload.name,
                        why=err.strerror or err,
                    ),
                ) from None
            upload.delete_instance()
            self._remember(upload, None)
        return target

    def _check_whole(self, upload: DraftUpload) -> None:
        received = self.received(upload)
        if received != upload.size:
            raise HubError(
                409,
                "incomplete",
                gettext(
                    "The upload has %(received)d of %(size)d bytes; send the rest first.",
                    received=received,
                    size=upload.size,
                ),
                {"X-Received": str(received)},
            )

    def _check_files(self, draft: DraftPack, target: Path) -> None:
        """Other uploads may have filled the draft since this one started."""
        files = len(self.drafts.file_names(draft))
        if not target.exists() and files >= self.config.max_pack_files:
            raise HubError(
                413,
                "too_many_files",
                gettext(
                    "A pack may hold at most %(num)d files; %(name)s was not added. Remove a "
                    "file, then send it again.",
                    num=self.config.max_pack_files,
                    name=target.name,
                ),
            )

    def _remember(self, upload: DraftUpload, job_id: int | None) -> Finished:
        done = Finished(upload.owner_id, upload.draft_id, upload.size, job_id)
        self._finished[upload.upload_id] = done
        while len(self._finished) > KEEP_FINISHED:
            self._finished.popitem(last=False)
        return done

    def save_whole(
        self, owner_id: int, draft: DraftPack | None, name: str, stream: IO[bytes]
    ) -> Path:
        """A file sent whole by a plain form: staged like a piece, then put in its place."""
        return self.finish(self._stage_whole(owner_id, draft, name, stream))

    def _stage_whole(
        self, owner_id: int, draft: DraftPack | None, name: str, stream: IO[bytes]
    ) -> DraftUpload:
        upload = self.start(owner_id, draft, name, _stream_size(stream))
        with open(self._part(upload), "wb") as out:
            stream.seek(0)
            _copy_exactly(stream, out, upload.size, 0)
        return upload

    def import_whole(self, upload: DraftUpload, jobs: JobRunner) -> Finished:
        """Queue the import of a whole uploaded pack .zip or ZIM file into the library (a job:
        a large ZIM takes minutes); the job moves the file out of the uploads, and it is
        dropped once imported or refused. HubError 503 while the hub is busy, keeping the
        whole upload for a finish asked again later."""
        with self._finishing:
            self._check_whole(upload)
            work = self._import_work(upload.upload_id, upload.name)
            try:
                job = jobs.submit("import", upload.name, work, upload.owner_id)
            except HubError as err:
                if err.code != 503:
                    raise
                raise HubError(
                    503,
                    "busy",
                    gettext(
                        "All of %(name)s has arrived, but the hub is busy with other long "
                        "work; press the button again when it has finished (nothing is sent "
                        "again).",
                        name=upload.name,
                    ),
                    {"Retry-After": "30"},
                ) from None
            return self._remember(upload, job.id)

    def _import_work(self, upload_id: str, name: str) -> Callable[[Job], object]:
        library = self.drafts.library

        def work(job: Job) -> object:
            upload = DraftUpload.get_or_none(DraftUpload.upload_id == upload_id)
            part = self.parts / f"{upload_id}.part"
            if upload is None or not part.is_file():
                raise JobRefused(
                    gettext("The upload of %(name)s was lost; send it again.", name=name)
                )
            target = self.imports / upload_id / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            upload.delete_instance()
            return import_work(library, target, target.parent)(job)

        return work

    def import_sent(self, owner_id: int, name: str, stream: IO[bytes], jobs: JobRunner) -> Job:
        """The same, for a file a plain form sent whole (dropped when refused: a plain form
        cannot finish it later)."""
        jobs.check_room()
        upload = self._stage_whole(owner_id, None, name, stream)
        try:
            done = self.import_whole(upload, jobs)
        except HubError:
            self.discard(upload)
            raise
        found = jobs.get(done.job_id or 0)
        assert found is not None
        return found

    def discard(self, upload: DraftUpload) -> None:
        self._part(upload).unlink(missing_ok=True)
        upload.delete_instance()

    def sweep(self, now: float | None = None) -> int:
        """Drop uploads untouched for two days, pieces no upload owns, and imports a crash
        left behind; returns how many uploads were dropped."""
        cutoff = (time.time() if now is None else now) - MAX_AGE_SECONDS
        with connected():
            stale = list(DraftUpload.select().where(DraftUpload.touched < cutoff))
            for upload in stale:
                self.discard(upload)
            known = {u.upload_id for u in DraftUpload.select(DraftUpload.upload_id)}
        for path in _entries(self.parts):
            if path.stem not in known and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        for path in _entries(self.imports):
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        return len(stale)

    def of(self, owner_id: int, upload_id: str) -> DraftUpload:
        """The person's own upload; anyone else's is unknown to them (404)."""
        found = None
        if UPLOAD_ID.fullmatch(upload_id):
            found = DraftUpload.get_or_none(
                DraftUpload.upload_id == upload_id, DraftUpload.owner_id == owner_id
            )
        if found is None:
            raise HubError(404, "unknown_upload", gettext("No such upload; start it again."))
        return found

    def _part(self, upload: DraftUpload) -> Path:
        return self.parts / f"{upload.upload_id}.part"


def _size(value: object, limit: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise HubError(400, "bad_size", gettext("The file is empty, or its size is unknown."))
    if value > limit:
        raise HubError(
            413,
            "too_large",
            gettext(
                "The file is %(size)s; packs being made may take at most %(limit)s.",
                size=size_text(value),
                limit=size_text(limit),
            ),
        )
    return value


def _parse_range(header: str | None) -> tuple[int, int, int]:
    match = _RANGE.fullmatch((header or "").strip())
    if match is None:
        raise _bad_range(gettext("Send each piece with a Content-Range: bytes START-END/SIZE."))
    start, end, total = (int(part) for part in match.groups())
    if start > end or end >= total:
        raise _bad_range(gettext("The Content-Range %(range)s is not possible.", range=header))
    return start, end, total


def _bad_range(message: str) -> HubError:
    return HubError(400, "bad_range", message)


def _copy_exactly(source: IO[bytes], out: IO[bytes], count: int, keep: int) -> None:
    """Copy `count` bytes; a body that ends early is cut back to `keep` bytes and refused."""
    left = count
    while left:
        piece = source.read(min(PIECE, left))
        if not piece:
            out.truncate(keep)
            raise _bad_range(gettext("The piece ended before its last byte; send it again."))
        out.write(piece)
        left -= len(piece)
    if source.read(1):
        out.truncate(keep)
        raise _bad_range(gettext("The piece is longer than its Content-Range says."))
    out.flush()
    os.fsync(out.fileno())


def _stream_size(stream: IO[bytes]) -> int:
    stream.seek(0, os.SEEK_END)
    return stream.tell()


def _bytes_under(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue  # published or swept meanwhile
    return total


def _entries(folder: Path) -> Iterable[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []
