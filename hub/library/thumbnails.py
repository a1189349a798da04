"""Pictures that let a child who reads little find a pack or a lesson: the cover and the
thumbnails a pack names in pack.json (`thumbnail`), or, for a pack without a cover, a tiny
generated one: its subject's colour and its title's first letter (drawn by the page, no file).
"""

from __future__ import annotations

import posixpath
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import fn

from hub.library.cache import library_cache
from hub.library.models import Lesson, Pack, PackFile

# Dark enough for white letters (contrast >= 4.5:1), told apart without reading them.
PALETTE = ("#1f5f8b", "#8a3b12", "#2e6b30", "#6a3d8f", "#9b1d4a", "#35565f", "#7a5c00", "#4b4f9e")


@dataclass(frozen=True)
class Cover:
    image: str | None  # a blob's name (sha256 and extension), or None: draw the letter
    colour: str
    initial: str


def pack_covers(packs: Iterable[Pack]) -> dict[str, Cover]:
    images = library_cache.get("pack-covers", _cover_images)
    return {pack.id: _cover(pack, images.get(pack.id)) for pack in packs}


def _cover(pack: Pack, image: str | None) -> Cover:
    # The subject's colour, so mathematics looks alike across packs; else the pack's own.
    seed = pack.subjects[0] if pack.subjects else pack.id
    colour = PALETTE[zlib.crc32(seed.encode()) % len(PALETTE)]
    return Cover(image, colour, pack.title.strip()[:1].upper())


def _cover_images() -> dict[str, str]:
    """Each pack's cover that names one, in one query: json_extract reads one field where
    parsing a big pack's manifest would cost megabytes."""
    cover = fn.json_extract(Pack.manifest, "$.thumbnail")
    files = PackFile.select(PackFile.pack, PackFile.path, PackFile.sha256).join(
        Pack, on=((Pack.id == PackFile.pack) & (PackFile.path == cover))
    )
    return {f.pack_id: _blob_name(f) for f in files}


def lesson_thumbnails(pack_id: str) -> dict[str, str]:
    """Lesson id -> the blob name of its thumbnail, for the pack's lessons that name one."""
    lessons = Lesson.select(Lesson.lesson_id, Lesson.meta).where(Lesson.pack == pack_id)
    wanted = {lesson.lesson_id: (lesson.meta or {}).get("thumbnail") for lesson in lessons}
    paths = {path for path in wanted.values() if path}
    by_path = {f.path: _blob_name(f) for f in PackFile.at_paths(pack_id, paths)}
    return {lesson_id: by_path[p] for lesson_id, p in wanted.items() if p in by_path}


def _blob_name(pack_file: PackFile) -> str:
    return pack_file.sha256 + posixpath.splitext(pack_file.path)[1].lower()
