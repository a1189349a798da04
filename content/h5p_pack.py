"""A .h5p file imported on its own is a pack of one `h5p` lesson.

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
from pathlib import Path
from typing import Any, BinaryIO

from content.h5p import check_h5p
from content.manifest import FORMAT
from content.source import MANIFEST_NAME, PackSource, ZipSource

SUFFIX = ".h5p"
DIGEST_FIELD = "x-h5p-sha256"
Installed = Callable[[str], Mapping[str, Any] | None]  # pack id -> installed pack.json


def is_h5p_file(path: Path, source: PackSource) -> bool:
    """Whether `source` (opened from `path`) is an H5P package rather than a pack zip."""
    return path.suffix.lower() == SUFFIX and not source.has(MANIFEST_NAME)


class H5PFileSource(PackSource):
    """The .h5p file and the pack.json made for it."""

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


def h5p_file_pack(
    path: Path, source: ZipSource, language: str, installed: Installed | None
) -> H5PFileSource:
    """The one-lesson pack of the H5P package `source` read from `path`; PackError if the
    package breaks a rule (content.h5p)."""
    package = check_h5p(source)
    slug = _slug(path.stem)[:50].strip("-")
    digest = _sha256(path)
    pack_id = f"h5p-{slug or digest[:12]}"
    raw = {
        "format": FORMAT,
        "id": pack_id,
        "version": _version(installed(pack_id) if installed else None, digest),
        "title": package.title[:300],
        "language": package.language if package.language != "und" else language,
        "lessons": [
            {
                "id": slug or "activity",
                "title": package.title[:300],
                "kind": "h5p",
                "file": f"{slug or 'activity'}{SUFFIX}",
            }
        ],
        DIGEST_FIELD: digest,
    }
    return H5PFileSource(path, raw)


def _version(installed: Mapping[str, Any] | None, digest: str) -> str:
    if installed is None:
        return "1"
    major = int(str(installed.get("version", "0")).split(".")[0] or 0)
    return str(major if installed.get(DIGEST_FIELD) == digest else major + 1)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
