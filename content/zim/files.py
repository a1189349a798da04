"""Where ZIM files are: one `.zim`, a split set (`.zimaa`, `.zimab`, ... as Kiwix and
zimsplit write them for FAT sticks), or folders (a USB stick) holding them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from content.zim.errors import ZimError

_PART = re.compile(r"^(?P<stem>.+)\.zim(?P<part>[a-z]{2})$", re.IGNORECASE)
# How deep a stick is searched: its root, learnhub-packs/, and Kiwix's own layouts such as
# data/content/ or kiwix/zims/.
MAX_DEPTH = 3


@dataclass(frozen=True)
class ZimFile:
    """One ZIM as found: its parts in order (one for a plain .zim)."""

    parts: tuple[Path, ...]

    @property
    def name(self) -> str:
        """How messages call it: the file, or the set's first part with a wildcard."""
        first = self.parts[0]
        if len(self.parts) == 1 and not _PART.match(first.name):
            return str(first)
        return str(first.with_name(f"{self.stem}.zimaa..."))

    @property
    def stem(self) -> str:
        first = self.parts[0].name
        match = _PART.match(first)
        return match["stem"] if match else first.rsplit(".", 1)[0]

    def size(self) -> int:
        try:
            return sum(part.stat().st_size for part in self.parts)
        except OSError as err:
            raise ZimError(f"cannot read {self.name}: {err.strerror or err}.") from None


def is_zim_path(path: Path) -> bool:
    """Whether a path is named like a ZIM file or a part of a split set."""
    name = Path(path).name
    return name.lower().endswith(".zim") or _PART.match(name) is not None


def zim_file(path: Path) -> ZimFile:
    """The ZIM a path names; for any part of a split set, the whole set, which must be
    complete (aa, ab, ... without a gap)."""
    path = Path(path)
    if not path.exists():
        raise ZimError(f"{path} does not exist.")
    if not path.is_file():
        raise ZimError(f"{path} is not a file.")
    match = _PART.match(path.name)
    if match is None:
        return ZimFile((path,))
    return ZimFile(_split_set(path.parent, match["stem"]))


def _split_set(folder: Path, stem: str) -> tuple[Path, ...]:
    parts = {}
    for entry in os.scandir(folder):
        match = _PART.match(entry.name)
        if match and match["stem"] == stem and entry.is_file(follow_symlinks=False):
            parts[match["part"].lower()] = Path(entry.path)
    ordered = [parts[key] for key in sorted(parts)]
    for position, key in enumerate(sorted(parts)):
        expected = _part_suffix(position)
        if key != expected:
            raise ZimError(
                f"The split ZIM {folder / stem}.zimaa... is incomplete: "
                f"part .zim{expected} is missing."
            )
    return tuple(ordered)


def _part_suffix(position: int) -> str:
    return chr(ord("a") + position // 26) + chr(ord("a") + position % 26)


def find_zims(path: Path) -> list[ZimFile]:
    """A ZIM file or part -> [it]; a folder -> every ZIM in it and a few levels below (hidden
    folders and links skipped), each split set once, sorted."""
    path = Path(path)
    if path.is_file():
        return [zim_file(path)] if is_zim_path(path) else []
    found: dict[tuple[Path, str], ZimFile] = {}
    for file in _walk(path, MAX_DEPTH):
        match = _PART.match(file.name)
        if match is None:
            found[(file.parent, file.name)] = ZimFile((file,))
        elif (file.parent, match["stem"]) not in found:
            found[(file.parent, match["stem"])] = zim_file(file)
    return sorted(found.values(), key=lambda z: z.parts[0])


def _walk(folder: Path, depth: int) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        raise ZimError(f"cannot read {folder}: {err.strerror or err}.") from None
    files = []
    for entry in entries:
        if entry.name.startswith("."):  # ._name.zim are macOS resource forks on USB sticks
            continue
        if entry.is_file(follow_symlinks=False) and is_zim_path(Path(entry.name)):
            files.append(Path(entry.path))
        elif depth > 0 and entry.is_dir(follow_symlinks=False):
            files += _walk(Path(entry.path), depth - 1)
    return files
