"""What this hub lets its learners attach to a letter: the letter_* settings, which the
protocol's caps in sync/letters.py bound (central and partner hubs refuse anything larger)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.core.settings import Config
from sync.letters import AUDIO_TYPES, MAX_AUDIO_BYTES, MAX_PHOTO_BYTES, MAX_PHOTOS

MIB = 1024 * 1024
# Room in a letter's form for its text and fields around the files.
FORM_SLACK = 256 * 1024


@dataclass(frozen=True)
class LetterCaps:
    photo_bytes: int = MAX_PHOTO_BYTES
    recording_bytes: int = MAX_AUDIO_BYTES
    recording_seconds: int = 120

    @classmethod
    def of(cls, config: Config) -> LetterCaps:
        return cls(
            config.letter_photo_bytes,
            config.letter_recording_bytes,
            config.letter_recording_seconds,
        )

    def largest(self, media_type: str) -> int:
        """The most bytes a file of this (sniffed) type may have here."""
        return self.recording_bytes if media_type in AUDIO_TYPES else self.photo_bytes

    @property
    def form_bytes(self) -> int:
        """The largest writing form: every photo and the recording at their caps."""
        return MAX_PHOTOS * self.photo_bytes + self.recording_bytes + FORM_SLACK


def size_words(size: int) -> str:
    """A size as people say it: '3 MB', '1.5 MB', '500 KB' (of 1,024 and 1,048,576 bytes)."""
    if size >= MIB:
        return f"{round(size / MIB, 1):g} MB"
    return f"{max(round(size / 1024), 1)} KB"


# The protocol's caps: what central and partner hubs accept, for callers without settings.
PROTOCOL = LetterCaps()
