"""Build content packs (folders and zips, good and hostile) in temporary folders for tests.

manifest = sample_manifest()            # a fresh dict: article, video, exercise, app lessons
files = sample_files()                  # every file it references
write_pack_dir(tmp_path / "p", manifest, files)
write_pack_zip(tmp_path / "p.zip", manifest, files, folder="fractions")   # zipped folder
write_zip(tmp_path / "evil.zip", [("../evil.txt", b"x")])                  # raw entries
patch_entry(data, 0, file_size=10)      # edit a zip's headers to make it lie
"""

from __future__ import annotations

import copy
import io
import json
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PACK_ID = "fractions-en"

EXERCISE: dict[str, Any] = {
    "mastery": {"correct": 2, "of": 3},
    "questions": [
        {
            "id": "q1",
            "type": "single",
            "prompt": "Which is one half?",
            "choices": ["1/3", "1/2"],
            "answer": 1,
            "hint": "Two equal parts.",
            "explanation": "One of two equal parts is a half.",
        },
        {
            "id": "q2",
            "type": "multiple",
            "prompt": "Halves?",
            "choices": ["2/4", "1/3", "3/6"],
            "answer": [0, 2],
        },
        {"id": "q3", "type": "numeric", "prompt": "Half of 1?", "answer": 0.5, "tolerance": 0.01},
        {"id": "q4", "type": "text", "prompt": "Water in French?", "answer": ["eau", "l'eau"]},
    ],
}

APP_FILES = {
    "index.html": b"<!doctype html><title>App</title><script src=app.js></script>",
    "app.js": b"1;",
}


def sample_manifest(**overrides: Any) -> dict[str, Any]:
    """A valid pack.json as a fresh dict; keyword arguments replace top-level fields."""
    manifest: dict[str, Any] = {
        "format": "learnhub-pack/1",
        "id": PACK_ID,
        "version": "1.0.0",
        "title": "Fractions",
        "description": "Halves, quarters and thirds.",
        "language": "en",
        "subjects": ["mathematics"],
        "grades": ["4", "5"],
        "license": "CC-BY-4.0",
        "attribution": "Learning Hub test authors",
        "topics": [
            {
                "id": "intro",
                "title": "Introduction",
                "lessons": ["halves", "intro-video"],
                "topics": [{"id": "practice", "title": "Practice", "lessons": ["check-1"]}],
            }
        ],
        "lessons": [
            {
                "id": "halves",
                "title": "Halves",
                "kind": "article",
                "file": "halves/index.html",
                "assets": ["halves/pie.svg"],
                "keywords": ["half"],
            },
            {
                "id": "intro-video",
                "title": "What is a fraction?",
                "kind": "video",
                "file": "v/intro.mp4",
                "subtitles": {"en": "v/intro.en.vtt"},
                "poster": "v/intro.jpg",
                "duration": 95,
            },
            {"id": "check-1", "title": "Check", "kind": "exercise", "file": "check-1.json"},
            {"id": "pie-game", "title": "Pie game", "kind": "app", "file": "apps/pie.zip"},
        ],
    }
    manifest.update(copy.deepcopy(overrides))
    return manifest


def sample_files() -> dict[str, bytes]:
    """The files sample_manifest() references (media are stand-in bytes: nothing sniffs them)."""
    return {
        "halves/index.html": b"<!doctype html><h1>Halves</h1><img src=pie.svg>",
        "halves/pie.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "v/intro.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(2000),
        "v/intro.en.vtt": b"WEBVTT\n\n00:00.000 --> 00:02.000\nA fraction is a part.\n",
        "v/intro.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
        "check-1.json": json.dumps(EXERCISE).encode(),
        "apps/pie.zip": zip_bytes(APP_FILES.items()),
    }


def lesson(lesson_id: str, kind: str = "article", file: str | None = None, **extra: Any) -> dict:
    default_file = {
        "article": "a.html",
        "video": "a.mp4",
        "audio": "a.mp3",
        "pdf": "a.pdf",
        "image": "a.png",
        "exercise": "a.json",
        "app": "a.zip",
    }.get(kind, "a.bin")
    return {
        "id": lesson_id,
        "title": lesson_id.title(),
        "kind": kind,
        "file": file or default_file,
        **extra,
    }


def manifest_bytes(manifest: dict[str, Any] | None = None) -> bytes:
    return json.dumps(sample_manifest() if manifest is None else manifest, indent=2).encode()


def pack_files(manifest: dict[str, Any] | None, files: dict[str, bytes] | None) -> dict[str, bytes]:
    """pack.json plus the files: defaults to the sample pack."""
    chosen = sample_files() if files is None and manifest is None else dict(files or {})
    return {"pack.json": manifest_bytes(manifest), **chosen}


def write_pack_dir(
    root: Path, manifest: dict[str, Any] | None = None, files: dict[str, bytes] | None = None
) -> Path:
    """A pack folder (the sample pack by default)."""
    for name, data in pack_files(manifest, files).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def write_pack_zip(
    path: Path,
    manifest: dict[str, Any] | None = None,
    files: dict[str, bytes] | None = None,
    folder: str = "",
) -> Path:
    """A pack zip (the sample pack by default); `folder` puts everything inside that folder."""
    prefix = f"{folder}/" if folder else ""
    entries = [(prefix + name, data) for name, data in pack_files(manifest, files).items()]
    return write_zip(path, entries)


def zip_bytes(
    entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip of exactly these entries, names untouched (so hostile names stay hostile), the same
    bytes whenever it is made: a name given as text gets a fixed date, not the clock's, which
    changed a zip's hash when a test crossed a two-second boundary."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; some tests want them
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in entries:
                archive.writestr(_dated(name, compression), data)
    return buffer.getvalue()


def _dated(name: str | zipfile.ZipInfo, compression: int) -> zipfile.ZipInfo:
    if isinstance(name, zipfile.ZipInfo):
        return name
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = compression
    # As zipfile's own writestr marks a name: a folder, else a file readable by its owner.
    info.external_attr = (0o40775 << 16 | 0x10) if name.endswith("/") else 0o600 << 16
    return info


ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def write_zip(
    path: Path,
    entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zip_bytes(entries, compression))
    return path


def symlink_entry(name: str, target: str = "/etc/passwd") -> tuple[zipfile.ZipInfo, bytes]:
    """A zip entry that unzips as a symbolic link (what `zip --symlinks` writes)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


# Offsets of fields in a central directory record and in a local file header.
_CENTRAL = {"flag_bits": (8, "H"), "compress_type": (10, "H"), "CRC": (16, "I"),
            "compress_size": (20, "I"), "file_size": (24, "I"), "external_attr": (38, "I"),
            "header_offset": (42, "I")}  # fmt: skip
_LOCAL = {"flag_bits": (6, "H"), "compress_type": (8, "H"), "CRC": (14, "I"),
          "compress_size": (18, "I"), "file_size": (22, "I")}  # fmt: skip


def patch_entry(data: bytes, index: int, **fields: int) -> bytes:
    """Rewrite header fields of the index-th entry (central record and local header alike),
    e.g. patch_entry(data, 0, file_size=10) for a zip that lies about a size."""
    out = bytearray(data)
    central = _central_offsets(out)[index]
    local = struct.unpack_from("<I", out, central + 42)[0]
    for name, value in fields.items():
        at, kind = _CENTRAL[name]
        struct.pack_into("<" + kind, out, central + at, value)
        if name in _LOCAL:
            at, kind = _LOCAL[name]
            struct.pack_into("<" + kind, out, local + at, value)
    return bytes(out)


def replace_name_bytes(data: bytes, old: bytes, new: bytes) -> bytes:
    """Swap a name in every header (same length), e.g. to put a NUL that zipfile won't write."""
    assert len(old) == len(new)
    return data.replace(old, new)


def _central_offsets(data: bytearray) -> list[int]:
    end = data.rfind(b"PK\x05\x06")
    count, _size, start = struct.unpack_from("<HII", data, end + 10)
    offsets, at = [], start
    for _ in range(count):
        offsets.append(at)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        at += 46 + name_len + extra_len + comment_len
    return offsets
