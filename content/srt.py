"""SubRip (.srt) subtitles to WebVTT, the only subtitle format browsers play.

SRT is WebVTT without the header, with commas in the times and a number above each cue. Files
in the wild come in UTF-8 (with or without a BOM) or a legacy 8-bit encoding, with any line
ending; a block that has no timing line is not a cue and is dropped.
"""

from __future__ import annotations

import re

from content.errors import PackError

MAX_SRT_BYTES = 4 * 1024**2  # hours of dialogue are a few hundred KB
_TIMING = re.compile(
    r"^\s*(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*"
    r"(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
)


def srt_to_vtt(data: bytes, origin: str) -> bytes:
    """The cues of an .srt file as a WebVTT file; PackError if it holds no cue at all."""
    if len(data) > MAX_SRT_BYTES:
        raise PackError(f"{origin} is larger than {MAX_SRT_BYTES // 1024**2} MB of subtitles.")
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    cues = [cue for block in re.split(r"\n\s*\n", text) if (cue := _cue(block))]
    if not cues:
        raise PackError(f"{origin} holds no subtitles (no line such as 00:00:01,000 --> ...).")
    return ("WEBVTT\n\n" + "\n\n".join(cues) + "\n").encode("utf-8")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # the usual legacy encoding of .srt


def _cue(block: str) -> str | None:
    lines = [line for line in block.strip("\n").split("\n")]
    for at, line in enumerate(lines[:2]):  # the timing is the first or second line
        timing = _TIMING.match(line)
        if timing:
            words = [text for text in lines[at + 1 :] if text.strip()]
            if not words:
                return None
            # "-->" inside cue text would end a WebVTT cue early
            body = "\n".join(text.replace("-->", "->") for text in words)
            return f"{_stamp(timing.groups()[:4])} --> {_stamp(timing.groups()[4:])}\n{body}"
    return None


def _stamp(parts: tuple[str, ...]) -> str:
    hours, minutes, seconds, millis = parts
    return f"{int(hours):02d}:{int(minutes):02d}:{int(seconds):02d}.{millis.ljust(3, '0')}"
