"""A Kolibri export sent as one zip (an operator zips the KOLIBRI_DATA folder on a laptop and
uploads it), unpacked into a staging folder so that the channel is read as from a stick.

The zip is listed by ZipSource, so it is refused for whatever a pack zip is refused for
(traversal, links, bombs, overlapping entries, more files or bytes than the limits). Only the
export's channel databases and storage files are written, each through ZipSource's checked
reader (exact size and checksum), into a new folder that is deleted whole if anything fails.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from content.errors import PackError
from content.kolibri.storage import EXPORT_FOLDER
from content.source import (
    DEFAULT_LIMITS,
    MANIFEST_NAME,
    Limits,
    PackSource,
    ZipSource,
    reason,
    size_text,
)

Progress = Callable[[int, int], None]  # bytes written, of all the bytes to write

_DATABASE = re.compile(r"content/databases/[0-9a-f]{32}\.sqlite3")
_STORAGE = "content/storage/"
_MAC_JUNK = "__MACOSX"
DISK_MARGIN = 64 * 1024**2  # left free for the database and its journal
PIECE = 1024**2


def export_prefix(paths: list[str]) -> str | None:
    """Where an export's content/ folder sits among a zip's files: at its top or under
    KOLIBRI_DATA/, either under one wrapping folder or not; None when no channel database is
    there."""
    tops = {path.split("/", 1)[0] for path in paths} - {_MAC_JUNK}
    wraps = ["", f"{tops.pop()}/"] if len(tops) == 1 else [""]
    for wrap in wraps:
        for inner in ("", f"{EXPORT_FOLDER}/"):
            prefix = wrap + inner
            if any(
                _DATABASE.fullmatch(path[len(prefix) :])
                for path in paths
                if path.startswith(prefix)
            ):
                return prefix
    return None


def unpack_export(
    path: Path, staging: Path, limits: Limits = DEFAULT_LIMITS, progress: Progress | None = None
) -> Path | None:
    """The Kolibri export zipped at `path` unpacked into a new folder under `staging`, which
    holds KOLIBRI_DATA (the caller deletes it when done); None when the zip is a pack (it has
    pack.json). PackError of one sentence when the zip is hostile or damaged, is neither a
    pack nor an export, or does not fit on the disk; then nothing is left behind."""
    path = Path(path)
    with ZipSource(path, limits, path.name) as source:
        if source.has(MANIFEST_NAME):
            return None
        prefix = export_prefix(source.paths())
        if prefix is None:
            raise PackError(
                f"{path.name} is neither a content pack (it has no pack.json) nor a Kolibri "
                "export (it has no content/databases/<channel id>.sqlite3)."
            )
        wanted = [
            p for p in source.paths() if p.startswith(prefix) and _in_export(p[len(prefix) :])
        ]
        total = sum(source.size(p) for p in wanted)
        staging.mkdir(parents=True, exist_ok=True)
        _check_space(path.name, staging, total)
        folder = Path(tempfile.mkdtemp(prefix="kolibri-upload-", dir=staging))
        try:
            _write_all(source, wanted, prefix, folder / EXPORT_FOLDER, total, progress)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder


def _in_export(inner: str) -> bool:
    return inner.startswith(_STORAGE) or _DATABASE.fullmatch(inner) is not None


def _check_space(name: str, staging: Path, total: int) -> None:
    """The files are written here, then copied into the library: room for both, first."""
    free = shutil.disk_usage(staging).free
    need = 2 * total + DISK_MARGIN
    if need > free:
        raise PackError(
            f"{name} needs {size_text(need)} of free disk space to be unpacked and imported, "
            f"and the hub has {size_text(free)}; nothing was unpacked."
        )


def _write_all(
    source: PackSource,
    wanted: list[str],
    prefix: str,
    root: Path,
    total: int,
    progress: Progress | None,
) -> None:
    (root / _STORAGE).mkdir(parents=True)  # an export of a channel's database alone has none
    done = 0
    for path in wanted:
        # ZipSource refused every name with .., an absolute start or a link, and the folder
        # is new: each target lies inside it.
        target = root / path[len(prefix) :]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open(path) as entry, open(target, "xb") as out:
                while piece := entry.read(PIECE):
                    out.write(piece)
                    done += len(piece)
                    if progress:
                        progress(done, total)
        except OSError as err:
            raise PackError(f"cannot unpack {source.name}: {reason(err)}.") from None
