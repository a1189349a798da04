"""Where a Kolibri export sits on a stick, and its content files.

Kolibri's `exportchannel` and `exportcontent` write:

    KOLIBRI_DATA/content/databases/<channel id>.sqlite3
    KOLIBRI_DATA/content/storage/<md5[0]>/<md5[1]>/<md5>.<extension>

A content file is present when it is a regular file there (no link at any step) of the size
the database gives. Each storage subfolder is listed once, as a pack folder is (links and
special files refused), and files are opened through that listing.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import BinaryIO

from content.errors import PackError
from content.source import DEFAULT_LIMITS, FolderSource, Limits, reason

EXPORT_FOLDER = "KOLIBRI_DATA"
DATABASE_NAME = re.compile(r"[0-9a-f]{32}\.sqlite3")
MAX_CHANNELS = 200  # databases on one stick


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def export_root(database: Path) -> Path | None:
    """The folder holding content/ for a channel database path, if the path is one."""
    database = Path(database)
    if not DATABASE_NAME.fullmatch(database.name) or database.parent.name != "databases":
        return None
    content = database.parent.parent
    if content.name != "content" or not _real_dir(content / "storage"):
        return None
    try:
        is_file = stat.S_ISREG(os.lstat(database).st_mode)
    except OSError:
        return None
    return content.parent if is_file and _real_dir(database.parent) else None


def is_channel_database(path: Path) -> bool:
    return export_root(path) is not None


def find_channels(path: Path) -> list[Path]:
    """The channel databases of a Kolibri export at `path`: a KOLIBRI_DATA folder (any
    folder holding content/databases and content/storage), or the folder holding one."""
    path = Path(path)
    for root in (path, path / EXPORT_FOLDER):
        databases = root / "content" / "databases"
        if _real_dir(root) and _real_dir(databases) and _real_dir(root / "content" / "storage"):
            return _databases_in(databases)
    return []


def _databases_in(folder: Path) -> list[Path]:
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError as err:
        raise PackError(f"cannot read {folder}: {reason(err)}.") from None
    found = [folder / name for name in names if DATABASE_NAME.fullmatch(name)]
    if len(found) > MAX_CHANNELS:
        raise PackError(f"{folder} holds more than {MAX_CHANNELS} channel databases.")
    return [database for database in found if is_channel_database(database)]


class Storage:
    """content/storage of an export: which files are there, and reading them."""

    def __init__(self, root: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.root = Path(root)
        self.limits = limits
        self._folders: dict[str, FolderSource | str] = {}  # "a/b" -> listing, or why not

    def close(self) -> None:
        for folder in self._folders.values():
            if isinstance(folder, FolderSource):
                folder.close()

    def find(self, md5: str, extension: str, size: int | None) -> tuple[int, str]:
        """(size, "") when md5.extension is present with `size` bytes (when given), else
        (0, why not)."""
        folder = self._folder(md5)
        if isinstance(folder, str):
            return 0, folder
        name = f"{md5}.{extension}"
        if not folder.has(name):
            return 0, "not on the stick"
        found = folder.size(name)
        if size is not None and found != size:
            return 0, f"{found} bytes on the stick, {size} in the channel"
        return found, ""

    def open(self, md5: str, extension: str) -> BinaryIO:
        folder = self._folder(md5)
        assert isinstance(folder, FolderSource), "open only what find() found"
        return folder.open(f"{md5}.{extension}")

    def open_file(self, md5: str, extension: str) -> BinaryIO:
        """Seekable, for zips (a .perseus or an app) read before staging."""
        folder = self._folder(md5)
        assert isinstance(folder, FolderSource), "open only what find() found"
        return folder.open_file(f"{md5}.{extension}")

    def _folder(self, md5: str) -> FolderSource | str:
        key = f"{md5[0]}/{md5[1]}"
        if key not in self._folders:
            self._folders[key] = self._list(key)
        return self._folders[key]

    def _list(self, key: str) -> FolderSource | str:
        first, second = self.root / key[0], self.root / key
        if not _real_dir(first) or not _real_dir(second):
            return "not on the stick"
        try:
            return FolderSource(second, self.limits, f"storage/{key}")
        except PackError as err:
            return f"unreadable ({str(err).rstrip('.')})"
