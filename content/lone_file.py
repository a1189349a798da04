"""A book or an activity imported on its own (a lone .h5p or .epub) is a pack of one lesson.

The pack's id comes from the file's name ("Berries quiz.h5p" -> "h5p-berries-quiz"), so
importing the same file again is "unchanged", and a changed file (another sha256) is the next
version of the same pack: learners' progress stays with the lesson.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from content.manifest import FORMAT
from content.source import MANIFEST_NAME, PackSource

Installed = Callable[[str], Mapping[str, Any] | None]  # pack id -> installed pack.json
MAX_TITLE = 300
MAX_SLUG = 50


@dataclass(frozen=True)
class LoneFile:
    """What the pack of one lesson is made from: the file, and what its checks read in it."""

    path: Path
    kind: str  # the lesson kind, "h5p" or "epub"; also the pack id's prefix
    title: str
    language: str  # "" or "und" when the file does not say
    digest_field: str  # the pack.json field holding the file's sha256
    unnamed: str  # the lesson's id when the file's name has no letter or digit in a-z0-9


class LoneFileSource(PackSource):
    """The file and the pack.json made for it."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        super().__init__(path.name)
        self._path = path
        self.file = raw["lessons"][0]["file"]
        self._manifest = json.dumps(raw, ensure_ascii=False, indent=2).encode("utf-8")
        self._sizes = {self.file: path.stat().st_size, MANIFEST_NAME: len(self._manifest)}

    def open(self, path: str) -> BinaryIO:
        if self._key(path) == MANIFEST_NAME:
            return io.BytesIO(self._manifest)
        return open(self._path, "rb")


def lone_file_pack(lone: LoneFile, language: str, installed: Installed | None) -> LoneFileSource:
    """The pack of the one lesson `lone`; `language` when the file names none."""
    slug = _slug(lone.path.stem)[:MAX_SLUG].strip("-")
    digest = _sha256(lone.path)
    pack_id = f"{lone.kind}-{slug or digest[:12]}"
    lesson_id = slug or lone.unnamed
    title = (lone.title or lone.path.stem)[:MAX_TITLE]
    raw = {
        "format": FORMAT,
        "id": pack_id,
        "version": _version(installed(pack_id) if installed else None, lone, digest),
        "title": title,
        "language": lone.language if lone.language not in ("", "und") else language,
        "lessons": [
            {
                "id": lesson_id,
                "title": title,
                "kind": lone.kind,
                "file": f"{lesson_id}{lone.path.suffix.lower()}",
            }
        ],
        lone.digest_field: digest,
    }
    return LoneFileSource(lone.path, raw)


def _version(installed: Mapping[str, Any] | None, lone: LoneFile, digest: str) -> str:
    if installed is None:
        return "1"
    major = int(str(installed.get("version", "0")).split(".")[0] or 0)
    return str(major if installed.get(lone.digest_field) == digest else major + 1)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
