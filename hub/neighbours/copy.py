"""Copying packs from a neighbour hub over the LAN.

Only the blobs this hub lacks travel; each one is checked against the sha256 and size the
neighbour claimed, and an interrupted copy resumes where it stopped (Range requests into a
download folder under the data dir). The pack is then laid out as a folder and imported with
`Library.import_pack`, exactly like one from a USB stick: the same validation, all or nothing.

A neighbour is not trusted. What it claims (pack id, manifest, paths, sizes, counts) is
checked against the library's limits before anything is downloaded, and what it sends
against what it claimed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

from content.blobstore import fsync_dir
from content.errors import PackError
from content.importer import MAX_MANIFEST_BYTES
from content.manifest import parse_manifest, version_key
from content.source import MANIFEST_NAME, Limits, nfc, path_problem, quote, reason, size_text
from hub.core.bounded_http import Bounds, Exchange, LinkFailed, TooSlow, TransferError
from hub.core.db import connected
from hub.core.translate import gettext
from hub.library.models import Pack
from hub.library.packs import Library

log = logging.getLogger(__name__)

SHARE_PATH = "/api/share"
SHARE_FORMAT = "learnhub-share/1"
ENTRY_BYTES = 512  # room per file in a pack's export document
MAX_PATH_CHARS = 1024
ERROR_BODY_BYTES = 64 * 1024
FREE_SPACE_MARGIN = 32 * 1024**2
STALE_DOWNLOAD_SECONDS = 7 * 24 * 3600
_SHA = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")

Progress = Callable[[str, int, int], None]  # (pack id, bytes done, bytes to copy)


class NeighbourError(PackError):
    """A neighbour hub answered wrongly or a pack it offers was refused; one sentence."""


class NeighbourUnreachable(NeighbourError):
    """The network failed (refused, timed out, cut mid-file): what was downloaded is kept,
    and running the copy again resumes it."""


def neighbour_url(text: str) -> str:
    """`http://host:port` from what an operator typed ("10.0.0.5:8080", a URL with a path)."""
    given = text.strip()
    if "://" not in given:
        given = "http://" + given
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NeighbourError(
            gettext("%(text)s is not the address of a hub (like 10.0.0.5:8080).", text=quote(text))
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise NeighbourError(
            gettext("%(text)s has a port that is not a number.", text=quote(text))
        ) from None
    return f"{parts.scheme}://{parts.netloc}"


# --- what a neighbour offers --------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    id: str
    version: str
    title: str
    description: str
    language: str
    size: int
    lessons: int


@dataclass(frozen=True)
class RemoteFile:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RemotePack:
    id: str
    version: str
    title: str
    manifest_bytes: bytes
    files: tuple[RemoteFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def blobs(self) -> dict[str, int]:
        """sha256 -> size, each distinct content once."""
        return {f.sha256: f.size for f in self.files}


class NeighbourHub:
    """The share API of one neighbour hub (`/api/share`), read defensively: every answer
    through one bounded exchange (hub.core.bounded_http), capped in bytes and in time."""

    def __init__(
        self, url: str, bounds: Bounds | None = None, *, timeout: float | None = None
    ) -> None:
        """`timeout` shortens the time any one answer may take (a page waiting on it)."""
        self.url = neighbour_url(url)
        self.parts = urlsplit(self.url)
        self.bounds = (bounds or Bounds.defaults()).within(timeout)

    def offers(self) -> list[Offer]:
        doc = self._json("/packs", self.bounds.json_bytes, "its list of packs")
        entries = doc.get("packs") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise NeighbourError(
                gettext(
                    "The hub at %(url)s sent a list of packs this hub cannot read.", url=self.url
                )
            )
        return [offer for entry in entries if (offer := _offer(entry)) is not None]

    def pack(self, pack_id: str, limits: Limits) -> RemotePack:
        """The pack's manifest and file list, checked against `limits` and each other."""
        path = "/packs/" + url_quote(pack_id, safe="")
        max_bytes = MAX_MANIFEST_BYTES + limits.max_files * ENTRY_BYTES
        missing = f"has no pack {quote(pack_id)}"
        doc = self._json(path, max_bytes, f"pack {quote(pack_id)}", missing)
        return _remote_pack(doc, pack_id, limits, self.url)

    def download(self, sha256: str, size: int, part: Path, on_bytes: Callable[[int], None]) -> None:
        """Bring `part` up to the blob's `size` bytes, resuming what is already there."""
        have = part.stat().st_size if part.is_file() else 0
        if have > size:
            part.unlink()
            have = 0
        if have == size:
            return
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        missing = "no longer has a file of this pack; try again later"
        with self._unreachable(), self._exchange() as exchange:
            response = self._get(exchange, f"/blobs/{sha256}", headers, missing)
            start = self._start_of(response, have, size)
            self._receive(exchange, response, part, start, size, on_bytes)

    # HTTP underneath.

    def _exchange(self, bounds: Bounds | None = None) -> Exchange:
        return Exchange(self.parts, bounds or self.bounds, f"The hub at {self.url}")

    @contextlib.contextmanager
    def _unreachable(self, during: str | None = None, refused: str | None = None) -> Iterator[None]:
        """A failed or too slow link as NeighbourUnreachable (what arrived is kept for the
        next run), too much as a refusal (`during`, `refused`: the sentences to use)."""
        try:
            yield
        except LinkFailed as err:
            raise NeighbourUnreachable(
                during
                or gettext(
                    "Could not reach the hub at %(url)s: %(why)s.", url=self.url, why=err.reason
                )
            ) from None
        except TooSlow as err:
            raise NeighbourUnreachable(str(err)) from None
        except TransferError as err:
            raise NeighbourError(refused or str(err)) from None

    def _get(
        self,
        exchange: Exchange,
        path: str,
        headers: dict[str, str],
        missing: str | None = None,
    ) -> http.client.HTTPResponse:
        """A 200 (or 206) answer; anything else is refused. No redirect is followed and no
        proxy is used: a hub answers its share API itself, on this LAN."""
        with self._unreachable():
            response = exchange.request("GET", SHARE_PATH + path, headers=headers)
        if response.status not in (200, 206):
            raise self._refusal(response.status, _error_code(exchange, response), missing)
        return response

    def _refusal(self, status: int, code: str, missing: str | None) -> NeighbourError:
        """`missing` ends the sentence for a 404 ("has no pack ...")."""
        if status == 403 and code == "sharing_off":
            return NeighbourError(
                gettext(
                    "The hub at %(url)s does not share its packs (its operator has not turned "
                    "sharing on).",
                    url=self.url,
                )
            )
        if status == 404 and missing is not None:
            return NeighbourError(f"The hub at {self.url} {missing}.")
        if status == 404:
            return NeighbourError(
                gettext(
                    "The hub at %(url)s does not offer packs to copy (is it a Learning Hub?).",
                    url=self.url,
                )
            )
        return NeighbourError(
            gettext(
                "The hub at %(url)s answered with HTTP error %(code)d.", url=self.url, code=status
            )
        )

    def _json(self, path: str, max_bytes: int, what: str, missing: str | None = None) -> Any:
        bounds = dataclasses.replace(self.bounds, json_bytes=max_bytes)
        failed = f"The connection to the hub at {self.url} failed."
        with self._unreachable(), self._exchange(bounds) as exchange:
            response = self._get(exchange, path, {"Accept": "application/json"}, missing)
            with self._unreachable(failed):
                body = exchange.read_json_bytes(response, what)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: hostile nesting
            raise NeighbourError(
                gettext(
                    "The hub at %(url)s did not answer with JSON (is it a Learning Hub?).",
                    url=self.url,
                )
            ) from None

    def _start_of(self, response: http.client.HTTPResponse, have: int, size: int) -> int:
        """Where the body starts in the file: `have` for a resumed 206, 0 for a whole 200.
        Anything that does not add up to the claimed size is refused."""
        if response.headers.get("Content-Encoding", "identity") != "identity":
            raise NeighbourError(f"The hub at {self.url} sent a file in an unexpected encoding.")
        start = 0
        if response.status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not match or tuple(map(int, match.groups())) != (have, size - 1, size):
                raise NeighbourError(
                    f"The hub at {self.url} answered a resumed copy with the wrong part of a file."
                )
            start = have
        length = response.headers.get("Content-Length")
        if length is not None and length.strip() != str(size - start):
            raise NeighbourError(
                f"The hub at {self.url} announced {length.strip()} bytes for a file it said "
                f"holds {size - start} more; the pack was refused."
            )
        return start

    def _receive(
        self,
        exchange: Exchange,
        response: http.client.HTTPResponse,
        part: Path,
        start: int,
        size: int,
        on_bytes: Callable[[int], None],
    ) -> None:
        expected = size - start
        cut = (
            f"The connection to the hub at {self.url} was cut while copying; "
            "run the copy again to resume where it stopped."
        )
        too_many = (
            f"The hub at {self.url} sent more bytes than the {size} it announced for a file; "
            "the pack was refused."
        )
        with open(part, "r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            try:
                with self._unreachable(cut, too_many):
                    written = exchange.stream(response, _Counted(out, on_bytes), expected)
            finally:
                out.flush()
            os.fsync(out.fileno())
        if written < expected:
            raise NeighbourUnreachable(cut)


class _Counted:
    """A file whose writes are reported (the copy page's progress)."""

    def __init__(self, out: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self.out = out
        self.on_bytes = on_bytes

    def write(self, data: bytes) -> int:
        written = self.out.write(data)
        self.on_bytes(len(data))
        return written


def _error_code(exchange: Exchange, response: http.client.HTTPResponse) -> str:
    try:
        doc = json.loads(exchange.read_error_bytes(response, ERROR_BODY_BYTES))
        return str(doc["error"]["code"])
    except Exception:  # any body at all: only a well-formed error shape tells us a code
        return ""


def _offer(entry: Any) -> Offer | None:
    if not isinstance(entry, dict):
        return None
    text = {k: entry.get(k) for k in ("id", "version", "title", "description", "language")}
    numbers = {k: entry.get(k) for k in ("size", "lessons")}
    if not all(isinstance(v, str) for v in text.values()) or not all(
        type(v) is int and v >= 0 for v in numbers.values()
    ):
        return None
    try:
        version_key(text["version"])  # type: ignore[arg-type]
    except PackError:
        return None
    return Offer(**text, **numbers)  # type: ignore[arg-type]


def _remote_pack(doc: Any, pack_id: str, limits: Limits, url: str) -> RemotePack:
    origin = f"pack {quote(pack_id)} from the hub at {url}"
    if not isinstance(doc, dict) or doc.get("format") != SHARE_FORMAT:
        raise NeighbourError(f"The {origin} is not in the {SHARE_FORMAT} format.")
    manifest_doc = doc.get("manifest")
    if not isinstance(manifest_doc, dict):
        raise NeighbourError(f"The {origin} has no {MANIFEST_NAME}.")
    for claimed in (doc.get("id"), manifest_doc.get("id")):
        if claimed != pack_id:
            raise NeighbourError(
                f"The hub at {url} answered with pack {quote(str(claimed))} when asked for "
                f"{quote(pack_id)}; it was refused."
            )
    try:
        manifest_bytes = json.dumps(manifest_doc, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        raise NeighbourError(f"The {MANIFEST_NAME} of {origin} cannot be read.") from None
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise NeighbourError(
            f"The pack.json of {origin} is larger than {size_text(MAX_MANIFEST_BYTES)}."
        )
    manifest = parse_manifest(manifest_bytes, f"{MANIFEST_NAME} of {origin}")
    files = _remote_files(doc.get("files"), origin, limits)
    wanted = {nfc(p) for p in manifest.paths()}
    listed = {nfc(f.path) for f in files}
    if wanted != listed:
        odd = sorted(wanted ^ listed)[0]
        side = "is not in its file list" if odd in wanted else "is not used by its pack.json"
        raise NeighbourError(f"The file {quote(odd)} of {origin} {side}; it was refused.")
    return RemotePack(pack_id, manifest.version, manifest.title, manifest_bytes, files)


def _remote_files(entries: Any, origin: str, limits: Limits) -> tuple[RemoteFile, ...]:
    if not isinstance(entries, list):
        raise NeighbourError(f"The {origin} has no file list.")
    if len(entries) > limits.max_files:
        raise NeighbourError(f"The {origin} has more than {limits.max_files} files.")
    files: dict[str, RemoteFile] = {}
    sizes: dict[str, int] = {}
    for n, entry in enumerate(entries):
        found = _remote_file(entry, f"files[{n}] of the {origin}", limits)
        key = nfc(found.path)
        if key in files or sizes.setdefault(found.sha256, found.size) != found.size:
            raise NeighbourError(f"The {origin} lists {quote(found.path)} twice or inconsistently.")
        files[key] = found
    total = sum(f.size for f in files.values())
    if total > limits.max_total_bytes:
        raise NeighbourError(
            f"The {origin} holds {size_text(total)}; the limit is "
            f"{size_text(limits.max_total_bytes)}."
        )
    return tuple(files.values())


def _remote_file(entry: Any, where: str, limits: Limits) -> RemoteFile:
    if not isinstance(entry, dict):
        raise NeighbourError(f"{where} is not an object with path, sha256 and size.")
    path, sha, size = entry.get("path"), entry.get("sha256"), entry.get("size")
    if not isinstance(path, str) or len(path) > MAX_PATH_CHARS:
        raise NeighbourError(f"{where}: expected a path of at most {MAX_PATH_CHARS} characters.")
    problem = path_problem(path)
    if problem or nfc(path) == MANIFEST_NAME:
        why = problem or "is the name of the pack's manifest"
        raise NeighbourError(f"{where}: the path {quote(path)} {why}; the pack was refused.")
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise NeighbourError(f"{where}: expected a sha256 of 64 lower-case hex digits.")
    if type(size) is not int or size < 0:
        raise NeighbourError(f"{where}: expected a size in bytes.")
    if size > limits.max_file_bytes:
        raise NeighbourError(
            f"{where}: {quote(path)} is {size_text(size)}; the limit is "
            f"{size_text(limits.max_file_bytes)}."
        )
    return RemoteFile(path, sha, size)


# --- copying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Copied:
    pack_id: str
    version: str
    action: str  # "installed", "upgraded" or "unchanged"
    lessons: int
    files: int  # blobs that crossed the network
    bytes: int
    previous_version: str | None = None


@dataclass(frozen=True)
class FetchOutcome:
    pack_id: str
    copied: Copied | None = None
    error: str | None = None


def neighbours_dir(library: Library) -> Path:
    return library.config.data_dir / "neighbours"


class PackFetcher:
    """Copies packs from one neighbour into `library`; one pack at a time, one copy per hub
    (a lock file in the data dir: the web page and the CLI may both try)."""

    def __init__(
        self, library: Library, neighbour: NeighbourHub, progress: Progress | None = None
    ) -> None:
        self.library = library
        self.neighbour = neighbour
        self.progress = progress or (lambda pack_id, done, total: None)
        self.root = neighbours_dir(library)
        self.downloads = self.root / "downloads"

    @contextlib.contextmanager
    def session(self) -> Iterator[PackFetcher]:
        """Hold the copy lock; clear what a crashed copy left behind that cannot resume."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        with open(self.root / "copy.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise NeighbourError(
                    "Another copy from a neighbour hub is running on this hub; "
                    "wait for it to finish."
                ) from None
            self._sweep()
            yield self

    def fetch(self, pack_id: str) -> Copied:
        """Copy one pack (inside `session()`); PackError if it is refused."""
        remote = self.neighbour.pack(pack_id, self.library.limits)
        unchanged = self._unchanged(remote)
        if unchanged is not None:
            return unchanged
        missing = {sha: n for sha, n in remote.blobs().items() if not self.library.store.has(sha)}
        self._check_space(remote, missing)
        try:
            copied_bytes = self._download_all(pack_id, missing)
            result = self._import(remote)
        except NeighbourUnreachable:
            raise  # keep the downloads: the next run resumes them
        except PackError:
            self._forget(missing)  # a refused pack's files are no use to anyone
            raise
        self._forget(missing)
        return Copied(
            pack_id,
            result.version,
            result.action,
            result.lessons,
            len(missing),
            copied_bytes,
            result.previous_version,
        )

    def _unchanged(self, remote: RemotePack) -> Copied | None:
        with connected():
            installed = Pack.by_id(remote.id)
        if installed is None:
            return None
        new, old = version_key(remote.version), version_key(installed.version)
        if new < old:
            raise NeighbourError(
                f"Pack {remote.id} {remote.version} on the hub at {self.neighbour.url} is older "
                f"than the installed version {installed.version}; nothing was changed."
            )
        if new > old:
            return None
        lessons = len(json.loads(remote.manifest_bytes).get("lessons", []))
        return Copied(remote.id, remote.version, "unchanged", lessons, 0, 0, installed.version)

    def _check_space(self, remote: RemotePack, missing: dict[str, int]) -> None:
        # Downloads, then the import's staging copy of every file of the pack.
        have = sum(self._downloaded(sha) for sha in missing)
        need = sum(missing.values()) - have + remote.size + FREE_SPACE_MARGIN
        free = shutil.disk_usage(self.root).free
        if need > free:
            raise NeighbourError(
                f"Pack {remote.id} needs {size_text(need)} of free disk space and the hub has "
                f"{size_text(free)}; nothing was copied."
            )

    def _downloaded(self, sha: str) -> int:
        for candidate in (self.downloads / sha, self.downloads / f"{sha}.part"):
            if candidate.is_file():
                return candidate.stat().st_size
        return 0

    def _download_all(self, pack_id: str, missing: dict[str, int]) -> int:
        total = sum(missing.values())
        done = sum(self._downloaded(sha) for sha in missing)
        copied = 0
        self.progress(pack_id, done, total)
        for sha, size in missing.items():
            if (self.downloads / sha).is_file():
                continue  # verified by an earlier run that was cut later

            def count(n: int) -> None:
                nonlocal done, copied
                done += n
                copied += n
                self.progress(pack_id, done, total)

            self._download(pack_id, sha, size, count)
        return copied

    def _download(self, pack_id: str, sha: str, size: int, on_bytes: Callable[[int], None]) -> None:
        part = self.downloads / f"{sha}.part"
        self.neighbour.download(sha, size, part, on_bytes)
        with open(part, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        if digest != sha:
            part.unlink(missing_ok=True)
            raise NeighbourError(
                f"The hub at {self.neighbour.url} sent a file of pack {quote(pack_id)} whose "
                f"content does not match its sha256 {sha[:12]}...; the pack was refused."
            )
        os.replace(part, self.downloads / sha)
        fsync_dir(self.downloads)

    def _import(self, remote: RemotePack) -> Any:
        """Lay the pack out as a folder (links to the downloads and to blobs this hub has)
        and import it like a USB stick's pack."""
        view = self.root / f"view-{uuid.uuid4().hex}" / remote.id
        try:
            self._lay_out(remote, view)
            try:
                return self.library.import_pack(view)
            except PackError as err:
                why = str(err).replace(str(view), remote.id)
                raise NeighbourError(
                    f"Pack {remote.id} from the hub at {self.neighbour.url} was refused: {why}"
                ) from None
        finally:
            shutil.rmtree(view.parent, ignore_errors=True)

    def _lay_out(self, remote: RemotePack, view: Path) -> None:
        try:
            view.mkdir(parents=True)
            (view / MANIFEST_NAME).write_bytes(remote.manifest_bytes)
            for remote_file in remote.files:
                target = view / remote_file.path
                target.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(self._blob(remote_file.sha256), target)
        except OSError as err:
            raise NeighbourError(
                f"The files of pack {remote.id} from the hub at {self.neighbour.url} could not "
                f"be laid out ({reason(err)}); nothing was changed."
            ) from None

    def _blob(self, sha: str) -> Path:
        downloaded = self.downloads / sha
        return downloaded if downloaded.is_file() else self.library.store.path(sha)

    def _forget(self, shas: dict[str, int]) -> None:
        for sha in shas:
            for name in (sha, f"{sha}.part"):
                (self.downloads / name).unlink(missing_ok=True)

    def _sweep(self) -> None:
        cutoff = time.time() - STALE_DOWNLOAD_SECONDS
        for entry in self.root.iterdir():
            if entry.name.startswith("view-"):  # only alive while a copy holds the lock
                shutil.rmtree(entry, ignore_errors=True)
        for entry in self.downloads.iterdir():
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link costs no space; another file system (or no link support) gets a copy."""
    try:
        os.link(source, target)
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        shutil.copyfile(source, target)


def fetch_packs(
    library: Library, url: str, pack_ids: list[str], progress: Progress | None = None
) -> list[FetchOutcome]:
    """Copy each pack from the hub at `url`; one outcome per pack, in order. Raises
    NeighbourError only when no copy can start (bad address, another copy running)."""
    fetcher = PackFetcher(library, NeighbourHub(url, Bounds.of(library.config)), progress)
    outcomes = []
    with fetcher.session():
        for pack_id in dict.fromkeys(pack_ids):
            try:
                outcomes.append(FetchOutcome(pack_id, copied=fetcher.fetch(pack_id)))
            except PackError as err:
                outcomes.append(FetchOutcome(pack_id, error=str(err)))
    return outcomes


# --- copies started from the operator's page --------------------------------------------------


@dataclass
class CopyJob:
    """One copy started from the web page, run in a thread; the page shows its progress."""

    url: str
    pack_ids: tuple[str, ...]
    current: str | None = None
    done_bytes: int = 0
    total_bytes: int = 0
    outcomes: list[FetchOutcome] = field(default_factory=list)
    error: str | None = None
    finished: bool = False

    def on_progress(self, pack_id: str, done: int, total: int) -> None:
        self.current, self.done_bytes, self.total_bytes = pack_id, done, total


class CopyJobs:
    """At most one copy at a time per hub; the last one is kept to show its outcome."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.job: CopyJob | None = None
        self._lock = threading.Lock()

    def start(self, url: str, pack_ids: list[str]) -> bool:
        """False when a copy is still running."""
        with self._lock:
            if self.job is not None and not self.job.finished:
                return False
            job = self.job = CopyJob(neighbour_url(url), tuple(dict.fromkeys(pack_ids)))
        threading.Thread(target=self._run, args=(job,), name="learnhub-copy", daemon=True).start()
        return True

    def _run(self, job: CopyJob) -> None:
        try:
            job.outcomes = fetch_packs(self.library, job.url, list(job.pack_ids), job.on_progress)
        except PackError as err:
            job.error = str(err)
        except Exception:  # a thread's crash would otherwise be silent; say so on the page
            log.exception("copying packs from %s failed", job.url)
            job.error = "Something went wrong while copying; the hub's log has the details."
        finally:
            job.finished = True
