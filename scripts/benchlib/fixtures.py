"""The bench's own content: a pack of random-byte "videos" of known sizes."""

from __future__ import annotations

import json
import os
from pathlib import Path

PACK_ID = "bench-pack"
BIG_LESSON = "big"
BIG_SIZE = 1024 * 1024  # 1 MiB: the file-serving load
HUGE_LESSON = "huge"
HUGE_SIZE = 48 * 1024 * 1024  # far larger than waitress's 16 MB output buffer: the stall check


def _manifest() -> dict:
    return {
        "format": "learnhub-pack/1",
        "id": PACK_ID,
        "version": "1.0.0",
        "title": "Bench",
        "description": "",
        "language": "en",
        "subjects": [],
        "grades": [],
        "license": "CC0-1.0",
        "attribution": "",
        "topics": [],
        "lessons": [
            {"id": BIG_LESSON, "title": "Big", "kind": "video", "file": "big.mp4"},
            {"id": HUGE_LESSON, "title": "Huge", "kind": "video", "file": "huge.mp4"},
        ],
    }


def write_bench_pack(folder: Path) -> tuple[bytes, bytes]:
    """Write the pack folder; returns the 1 MiB and 48 MiB files' bytes, so answers can be
    checked."""
    folder.mkdir(parents=True)
    (folder / "pack.json").write_text(json.dumps(_manifest(), indent=2), encoding="utf-8")
    big, huge = os.urandom(BIG_SIZE), os.urandom(HUGE_SIZE)
    (folder / "big.mp4").write_bytes(big)
    (folder / "huge.mp4").write_bytes(huge)
    return big, huge
