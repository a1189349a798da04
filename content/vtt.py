"""WebVTT subtitles as plain cues: for transcripts on lesson pages and for search."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<[^>]*>")
_TIMING = re.compile(r"^\s*((?:\d+:)?\d{2}:\d{2}[.,]\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}[.,]\d{3})")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def parse_vtt(data: bytes) -> list[Cue]:
    """Cues in file order; lines that are not cues (header, notes, styles) are skipped."""
    text = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    cues = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        for at, line in enumerate(lines):
            timing = _TIMING.match(line)
            if timing:
                words = " ".join(_TAG.sub("", part).strip() for part in lines[at + 1 :])
                if words.strip():
                    cues.append(Cue(_seconds(timing[1]), _seconds(timing[2]), words.strip()))
                break
    return cues


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total
