"""Letters between partner classes: the records of a bundle's `letters` part and the checks
both ends apply to them and to their attachments (docs/sync-format.md, "letters").

Up (hub bundle): `letter` (a letter its coach approved), `status` (the partner class's hub
says it got one, or the class read it), `seek` (a class looks for a partner class, or no
longer does), `propose` (a coach proposes a pairing to a class in the directory), `answer`
(the coach of the class proposed to accepts or declines), `withdraw` (the proposing coach
takes back a proposal still open). Down (reply): `letter` (for a
class of this hub, without authors), `status` (of a letter this hub sent), `pair` (a pairing
of this hub's class), and to hubs that read version 2: `directory` (classes of other hubs
looking for a partner), `proposal` (a proposal from or to a class of this hub, as it stands).
Attachments travel as `blob` parts named by their sha256; only photos and audio in the few
formats below, sniffed from their first bytes, never a type that can run script.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sync.records import RecordError

UID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")
LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8}){0,3}")
MAX_TEXT = 5000  # characters of one letter
MAX_AUTHORS = 40  # a class
MAX_PHOTOS = 4
MAX_PHOTO_BYTES = 3 * 1024 * 1024
MAX_AUDIO = 1
MAX_AUDIO_BYTES = 8 * 1024 * 1024
MAX_NAME = 200  # a class or hub name shown with a pairing
STATES = ("at_central", "delivered", "read", "refused")  # the order a letter moves through
PAIR_STATES = ("active", "ended")
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/mp4")
MAX_NUMBER = (1 << 62) - 1
# Finding a partner class (version 2 of the part): what a coach says about a class, never
# anything about its learners.
VERSION = 2  # the letters part a hub reads: 1 letters and pairings, 2 also the directory
MAX_NOTE = 300  # characters of a coach's note with a class or a proposal
MAX_GRADE = 60  # characters of an age/grade line ("Grade 4, ages 9-10")
MAX_LANGUAGES = 5
MAX_DIRECTORY = 50  # entries of one directory record
PROPOSAL_STATES = ("proposed", "declined", "paired", "refused", "withdrawn")


class LetterError(RecordError):
    """A letter record or attachment is refused; str() is one sentence."""


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file show, among the few letters may carry."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def largest(media_type: str) -> int:
    return MAX_PHOTO_BYTES if media_type in PHOTO_TYPES else MAX_AUDIO_BYTES


def check_letters_record(record: Any) -> dict[str, Any]:
    """The record itself if well formed, else LetterError (a RecordError)."""
    if not isinstance(record, dict):
        raise LetterError("A letters record must be an object.")
    check = _CHECKS.get(record.get("t"))  # type: ignore[arg-type]
    if check is None:
        raise LetterError(f"A letters record's t must be one of {', '.join(_CHECKS)}.")
    check(record)
    return record


def _check_letter(record: dict[str, Any]) -> None:
    for name in ("uid", "from_class", "to_class"):
        _uid(record.get(name), name)
    hlc = record.get("hlc")
    if not isinstance(hlc, int) or isinstance(hlc, bool) or not 0 <= hlc <= MAX_NUMBER:
        raise LetterError("A letter's hlc must be a non-negative integer.")
    language = record.get("language")
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        raise LetterError("A letter's language must be a language tag such as sw or pt-BR.")
    text = record.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise LetterError(f"A letter's text must be at most {MAX_TEXT} characters.")
    authors = record.get("authors", [])
    if not isinstance(authors, list) or len(authors) > MAX_AUTHORS:
        raise LetterError(f"A letter names at most {MAX_AUTHORS} authors.")
    for author in authors:
        _uid(author, "author")
    check_attachments(record.get("attachments"))
    for name in ("from_name", "from_hub_name"):
        _text(record.get(name, ""), name)


def check_attachments(attachments: Any) -> list[dict[str, Any]]:
    if not isinstance(attachments, list):
        raise LetterError("A letter's attachments must be a list.")
    kinds = [_attachment(item) for item in attachments]
    if (
        sum(k in PHOTO_TYPES for k in kinds) > MAX_PHOTOS
        or sum(k in AUDIO_TYPES for k in kinds) > MAX_AUDIO
    ):
        raise LetterError(f"A letter carries at most {MAX_PHOTOS} photos and one recording.")
    return attachments


def _attachment(item: Any) -> str:
    if not isinstance(item, dict):
        raise LetterError("An attachment must be an object.")
    if not isinstance(item.get("sha256"), str) or not SHA256.fullmatch(item["sha256"]):
        raise LetterError("An attachment's sha256 must be 64 lower-case hex digits.")
    media_type = item.get("type")
    if media_type not in PHOTO_TYPES + AUDIO_TYPES:
        raise LetterError("An attachment must be a JPEG, PNG or WebP photo or a recording.")
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= largest(media_type):
        raise LetterError(f"An attachment's size must be 1 to {largest(media_type)} bytes.")
    return str(media_type)


def _check_status(record: dict[str, Any]) -> None:
    _uid(record.get("uid"), "uid")
    if record.get("state") not in STATES:
        raise LetterError(f"A letter status must be one of {', '.join(STATES)}.")


def _check_pair(record: dict[str, Any]) -> None:
    for name in ("uid", "class_uid", "partner_class_uid"):
        _uid(record.get(name), name)
    if record.get("state") not in PAIR_STATES:
        raise LetterError(f"A pairing's state must be one of {', '.join(PAIR_STATES)}.")
    for name in ("partner_class", "partner_hub"):
        _text(record.get(name), name)


def _check_seek(record: dict[str, Any]) -> None:
    _uid(record.get("class_uid"), "class_uid")
    _hlc(record.get("hlc"))
    if not isinstance(record.get("active"), bool):
        raise LetterError("A seek record's active must be true or false.")
    _about_class(record)


def _check_propose(record: dict[str, Any]) -> None:
    for name in ("uid", "from_class", "to_class"):
        _uid(record.get(name), name)
    _hlc(record.get("hlc"))
    _text(record.get("note", ""), "note", MAX_NOTE)


def _check_answer(record: dict[str, Any]) -> None:
    _uid(record.get("uid"), "uid")
    if not isinstance(record.get("accept"), bool):
        raise LetterError("An answer's accept must be true or false.")


def _check_withdraw(record: dict[str, Any]) -> None:
    _uid(record.get("uid"), "uid")


def _check_directory(record: dict[str, Any]) -> None:
    entries = record.get("entries")
    if not isinstance(entries, list) or len(entries) > MAX_DIRECTORY:
        raise LetterError(f"A directory holds a list of at most {MAX_DIRECTORY} entries.")
    for entry in entries:
        if not isinstance(entry, dict):
            raise LetterError("A directory entry must be an object.")
        _uid(entry.get("class_uid"), "class_uid")
        for name in ("class", "hub", "region"):
            _text(entry.get(name), name)
        _about_class(entry)


def _check_proposal(record: dict[str, Any]) -> None:
    for name in ("uid", "from_class", "to_class"):
        _uid(record.get(name), name)
    if record.get("state") not in PROPOSAL_STATES:
        raise LetterError(f"A proposal's state must be one of {', '.join(PROPOSAL_STATES)}.")
    for name in ("from_name", "from_hub", "to_name", "to_hub", "region"):
        _text(record.get(name, ""), name)
    _about_class(record)


def _about_class(record: dict[str, Any]) -> None:
    """The languages, grade line and note a coach gives with a class."""
    languages = record.get("languages", [])
    if not isinstance(languages, list) or len(languages) > MAX_LANGUAGES:
        raise LetterError(f"A class lists at most {MAX_LANGUAGES} languages.")
    for language in languages:
        if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
            raise LetterError("A class's languages must be language tags such as sw or pt-BR.")
    _text(record.get("grade", ""), "grade", MAX_GRADE)
    _text(record.get("note", ""), "note", MAX_NOTE)


def _hlc(value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_NUMBER:
        raise LetterError("A letters record's hlc must be a non-negative integer.")


def _uid(value: Any, name: str) -> None:
    if not isinstance(value, str) or not UID.fullmatch(value):
        raise LetterError(f"A letters record's {name} must be 32 lower-case hex digits.")


def _text(value: Any, name: str, most: int = MAX_NAME) -> None:
    if not isinstance(value, str) or len(value) > most:
        raise LetterError(f"A letters record's {name} must be text of at most {most}.")


def state_rank(state: str) -> int:
    return STATES.index(state) if state in STATES else -1


_CHECKS = {
    "letter": _check_letter,
    "status": _check_status,
    "pair": _check_pair,
    "seek": _check_seek,
    "propose": _check_propose,
    "answer": _check_answer,
    "withdraw": _check_withdraw,
    "directory": _check_directory,
    "proposal": _check_proposal,
}


class HasLanguages:
    """A partner record's `languages` column, a JSON list of language tags, as a list."""

    languages: Any

    def language_list(self) -> list[str]:
        found: list[str] = json.loads(self.languages)
        return found
