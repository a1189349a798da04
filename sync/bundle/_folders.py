"""Where bundles wait on a USB stick or in a folder, and the order they are taken in."""

from __future__ import annotations

from pathlib import Path

from sync.bundle._format import SUFFIX

SYNC_FOLDER = "learnhub-sync"  # on a USB stick: DIR/learnhub-sync/*.lhb, both directions


def sync_folder(path: Path) -> Path:
    """Where bundles go on a stick or folder: DIR/learnhub-sync (not created here)."""
    return path if path.name == SYNC_FOLDER else path / SYNC_FOLDER


def bundles_in(path: Path) -> list[Path]:
    """The bundle files a user pointed at: a file itself, else every *.lhb in
    DIR/learnhub-sync/ and DIR, in name order with the last number compared as a number."""
    if path.is_file():
        return [path]
    folders = [path, sync_folder(path)] if path.name != SYNC_FOLDER else [path]
    found = {p for folder in folders if folder.is_dir() for p in folder.glob(f"*{SUFFIX}")}
    return sorted((p for p in found if p.is_file()), key=_name_order)


def _name_order(path: Path) -> tuple[str, int, str]:
    stem, _, last = path.stem.rpartition("-")
    return (stem, int(last), "") if last.isdigit() else (path.stem, -1, path.name)
