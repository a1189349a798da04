"""A .h5p file imported on its own is a pack of one `h5p` lesson (content/lone_file.py)."""

from __future__ import annotations

from pathlib import Path

from content.h5p import check_h5p
from content.lone_file import Installed, LoneFile, LoneFileSource, lone_file_pack
from content.source import MANIFEST_NAME, PackSource, ZipSource

SUFFIX = ".h5p"
DIGEST_FIELD = "x-h5p-sha256"


def is_h5p_file(path: Path, source: PackSource) -> bool:
    """Whether `source` (opened from `path`) is an H5P package rather than a pack zip."""
    return path.suffix.lower() == SUFFIX and not source.has(MANIFEST_NAME)


def h5p_file_pack(
    path: Path, source: ZipSource, language: str, installed: Installed | None
) -> LoneFileSource:
    """The one-lesson pack of the H5P package `source` read from `path`; PackError if the
    package breaks a rule (content.h5p)."""
    package = check_h5p(source)
    lone = LoneFile(path, "h5p", package.title, package.language, DIGEST_FIELD, "activity")
    return lone_file_pack(lone, language, installed)
