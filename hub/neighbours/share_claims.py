"""What a neighbour hub claims (its offers, a pack's manifest and file list, its ZIMs), read
as untrusted: checked against the library's limits and against each other before anything is
downloaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from content.errors import PackError
from content.importer import MAX_MANIFEST_BYTES
from content.manifest import parse_manifest, version_key
from content.source import MANIFEST_NAME, Limits, nfc, path_problem, quote, size_text
from hub.neighbours.errors import NeighbourError

SHARE_FORMAT = "learnhub-share/1"
ENTRY_BYTES = 512  # room per file in a pack's export document
MAX_PATH_CHARS = 1024
_SHA = re.compile(r"[0-9a-f]{64}")
_MD5 = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ZIM_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,59}")
MAX_ZIM_TEXT = 2000  # characters of a ZIM's title or description worth showing


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


@dataclass(frozen=True)
class ZimOffer:
    """A ZIM a neighbour offers: `name` as it serves it, the edition (`uuid`, `date`), and
    what the file must be (`size` bytes ending with the MD5 `md5`)."""

    name: str
    uuid: str
    title: str
    language: str
    date: str
    size: int
    articles: int
    md5: str

    @property
    def pack_id(self) -> str:
        return f"zim:{self.name}"


def zim_offer_from(entry: Any) -> ZimOffer | None:
    """An offered ZIM, or None for an entry that is not one (it is left out, not trusted)."""
    if not isinstance(entry, dict):
        return None
    name, the_uuid, md5 = entry.get("id"), entry.get("uuid"), entry.get("md5")
    size, articles = entry.get("size"), entry.get("articles")
    texts = [entry.get(k) for k in ("title", "language", "date")]
    well_formed = (
        isinstance(name, str)
        and _ZIM_NAME.fullmatch(name)
        and isinstance(the_uuid, str)
        and _UUID.fullmatch(the_uuid)
        and isinstance(md5, str)
        and _MD5.fullmatch(md5)
    )
    if not well_formed or not _count(size) or not _count(articles):
        return None
    if not all(isinstance(t, str) and len(t) <= MAX_ZIM_TEXT for t in texts):
        return None
    title, language, date = (str(t) for t in texts)
    return ZimOffer(str(name), str(the_uuid), title, language, date, size, articles, str(md5))


def offer_from(entry: Any) -> Offer | None:
    if not isinstance(entry, dict):
        return None
    names = ("id", "version", "title", "description", "language")
    text = {k: v for k in names if isinstance(v := entry.get(k), str)}
    size, lessons = entry.get("size"), entry.get("lessons")
    if len(text) < len(names) or not _count(size) or not _count(lessons):
        return None
    try:
        version_key(text["version"])
    except PackError:
        return None
    return Offer(**text, size=size, lessons=lessons)


def _count(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def remote_pack_from(doc: Any, pack_id: str, limits: Limits, url: str) -> RemotePack:
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
