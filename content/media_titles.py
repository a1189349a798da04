"""Titles from the files themselves: a PDF's Info /Title, an EPUB's dc:title, an MP3's ID3v2
TIT2 (or ID3v1), an Ogg Vorbis/Opus TITLE comment, an MP4/M4A ©nam atom.

Every reader takes a seekable stream of a file nobody checked, reads at most a few hundred KB
of it, checks every length it finds against what it has, and gives up (None) on anything odd:
a title is a nicety, never a reason to refuse a file or to spend real time on one.
"""

from __future__ import annotations

import logging
import re
import struct
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, BinaryIO

MAX_TITLE_CHARS = 300
MAX_TAG_BYTES = 256 * 1024  # a title sits in the first frames; cover art after it is skipped
MAX_XML_BYTES = 1024**2
MAX_BOXES = 4096  # per MP4 level: honest files have a few dozen
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_PLACEHOLDER = re.compile(
    r"^(untitled|title|document\d*|doc\d*|unknown|no title|new document|presentation|"
    r"powerpoint presentation|slide \d+|track ?\d*|audio ?\d*|video ?\d*|"
    r"microsoft (word|powerpoint|excel) - .*|.*\.(docx?|pptx?|xlsx?|odt|odp|pdf|indd|tex|"
    r"dvi|qxd|rtf|pages|key|mp3|mp4|wav|m4a|ogg))$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,  # also UnicodeDecodeError
    IndexError,
    KeyError,
    struct.error,
    zipfile.BadZipFile,
    ET.ParseError,
)


def clean_title(text: str | None) -> str | None:
    """`text` as a title: NFC, one line, control characters out, at most 300 characters; None
    when nothing useful is left or it is a placeholder a program wrote ("Untitled",
    "Microsoft Word - notes.docx")."""
    if not text:
        return None
    text = unicodedata.normalize("NFC", text)
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    text = _SPACES.sub(" ", text).strip(" \"'-_.")
    if len(text) < 2 or _PLACEHOLDER.match(text) or not any(c.isalpha() for c in text):
        return None
    if len(text) > MAX_TITLE_CHARS:
        text = text[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return text


def metadata_title(path: str, stream: BinaryIO) -> str | None:
    """The title a file carries inside, by its extension; None when it has none or is junk."""
    reader = _READERS.get(PurePosixPath(path).suffix.lower())
    if reader is None:
        return None
    try:
        return clean_title(reader(stream))
    except _READ_ERRORS:
        return None


def pdf_title(stream: BinaryIO) -> str | None:
    import pypdf  # here, not at the top: it is big and only PDFs need it

    if stream.read(1024).lstrip()[:5] != b"%PDF-":
        return None
    stream.seek(0)
    logger = logging.getLogger("pypdf")
    if logger.level == logging.NOTSET:  # broken PDFs are expected; see content/pdftext.py
        logger.setLevel(logging.CRITICAL)
    limits: dict[str, Any] = {"zlib_maximum_output_length": MAX_XML_BYTES, "jbig2dec_binary": None}
    try:
        with pypdf.apply_configuration(**limits):
            info = pypdf.PdfReader(stream, strict=False).metadata
            title = info.title if info is not None else None
    except Exception:  # pypdf raises many types on hostile input; all mean "no title"
        return None
    return title if isinstance(title, str) else None


def epub_title(stream: BinaryIO) -> str | None:
    with zipfile.ZipFile(stream) as book:
        container = _xml(_zip_member(book, "META-INF/container.xml"))
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            return None
        package = _xml(_zip_member(book, rootfile.get("full-path", "")))
        title = package.find(f".//{_DC}title")
        return title.text if title is not None else None


def _zip_member(book: zipfile.ZipFile, name: str) -> bytes:
    info = book.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise ValueError("too large")
    with book.open(info) as member:
        return member.read(MAX_XML_BYTES + 1)[:MAX_XML_BYTES]


def _xml(data: bytes) -> ET.Element:
    # expat expands entities; no honest EPUB package needs a DTD, so refuse one outright
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("DTD")
    return ET.fromstring(data)


def mp3_title(stream: BinaryIO) -> str | None:
    head = stream.read(10)
    if len(head) == 10 and head[:3] == b"ID3" and head[3] in (2, 3, 4):
        title = _id3v2_title(head, stream)
        if title:
            return title
    return _id3v1_title(stream)


def _id3v2_title(head: bytes, stream: BinaryIO) -> str | None:
    version, flags = head[3], head[5]
    size = _syncsafe(head[6:10])
    if size is None:
        return None
    tag = stream.read(min(size, MAX_TAG_BYTES))  # a lying size just leaves less to read
    if flags & 0x80 and version < 4:  # whole-tag unsynchronisation
        tag = tag.replace(b"\xff\x00", b"\xff")
    at = _skip_extended_header(tag, version) if flags & 0x40 else 0
    wanted, header = (b"TT2", 6) if version == 2 else (b"TIT2", 10)
    while at + header <= len(tag) and tag[at] != 0:
        frame_id, frame_size = _frame_header(tag, at, version)
        if frame_size is None or at + header + frame_size > len(tag):
            return None
        if frame_id == wanted:
            return _id3_text(tag[at + header : at + header + frame_size])
        at += header + frame_size
    return None


def _frame_header(tag: bytes, at: int, version: int) -> tuple[bytes, int | None]:
    if version == 2:
        return tag[at : at + 3], int.from_bytes(tag[at + 3 : at + 6], "big")
    raw = tag[at + 4 : at + 8]
    size = _syncsafe(raw) if version == 4 else int.from_bytes(raw, "big")
    return tag[at : at + 4], size


def _skip_extended_header(tag: bytes, version: int) -> int:
    if len(tag) < 4:
        return len(tag)
    if version == 4:
        return _syncsafe(tag[:4]) or len(tag)  # v2.4 counts the size bytes themselves
    return 4 + int.from_bytes(tag[:4], "big")


def _syncsafe(raw: bytes) -> int | None:
    if len(raw) != 4 or any(byte & 0x80 for byte in raw):
        return None
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _id3_text(body: bytes) -> str | None:
    if not body:
        return None
    encoding, text = body[0], body[1:]
    codecs = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}
    if encoding not in codecs:
        return None
    decoded = text.decode(codecs[encoding], errors="replace")
    return decoded.split("\x00", 1)[0]  # a frame may hold several strings; the first is it


def _id3v1_title(stream: BinaryIO) -> str | None:
    end = stream.seek(0, 2)
    if end < 128:
        return None
    stream.seek(end - 128)
    tail = stream.read(128)
    if tail[:3] != b"TAG":
        return None
    return tail[3:33].split(b"\x00", 1)[0].decode("latin-1")


def ogg_title(stream: BinaryIO) -> str | None:
    comments = _second_ogg_packet(stream.read(MAX_TAG_BYTES))
    if comments is None:
        return None
    for magic in (b"\x03vorbis", b"OpusTags"):
        if comments.startswith(magic):
            return _vorbis_comment(comments[len(magic) :], "TITLE")
    return None


def _second_ogg_packet(data: bytes) -> bytes | None:
    """The second packet of the first logical stream (the comment header), or None."""
    packets: list[bytes] = []
    current = b""
    at, serial = 0, None
    while at + 27 <= len(data) and data[at : at + 4] == b"OggS" and len(packets) < 2:
        count = data[at + 26]
        table = data[at + 27 : at + 27 + count]
        body = at + 27 + count
        if len(table) < count:
            return None
        page_serial = data[at + 14 : at + 18]
        serial = serial or page_serial
        for segment in table:
            if page_serial == serial:
                current += data[body : body + segment]
                if segment < 255:
                    packets.append(current)
                    current = b""
            body += segment
        at = body
    return packets[1] if len(packets) >= 2 else None


def _vorbis_comment(data: bytes, key: str) -> str | None:
    at = 0
    vendor = _u32(data, at)
    at += 4 + vendor
    count = _u32(data, at)
    at += 4
    for _ in range(min(count, 10_000)):
        length = _u32(data, at)
        entry = data[at + 4 : at + 4 + length]
        if len(entry) < length:
            return None
        name, _sep, value = entry.partition(b"=")
        if name.decode("ascii", errors="replace").upper() == key:
            return value.decode("utf-8", errors="replace")
        at += 4 + length
    return None


def _u32(data: bytes, at: int) -> int:
    if at + 4 > len(data):
        raise ValueError("truncated")
    return int.from_bytes(data[at : at + 4], "little")


def mp4_title(stream: BinaryIO) -> str | None:
    end = stream.seek(0, 2)
    found = _find_box(stream, 0, end, [b"moov", b"udta", b"meta", b"ilst", b"\xa9nam", b"data"])
    if found is None:
        return None
    start, stop = found
    stream.seek(start)
    body = stream.read(min(stop - start, 4096))
    return body[8:].decode("utf-8", errors="replace") if len(body) > 8 else None  # type, locale


def _find_box(stream: BinaryIO, start: int, end: int, path: list[bytes]) -> tuple[int, int] | None:
    """The (body start, body end) of the box at `path` below [start, end), seeking past the
    rest (the media data before the index may be gigabytes)."""
    at = start
    for _ in range(MAX_BOXES):
        if at + 8 > end:
            return None
        stream.seek(at)
        header = stream.read(16)
        size, name = int.from_bytes(header[:4], "big"), header[4:8]
        body = at + 8
        if size == 1 and len(header) == 16:
            size, body = int.from_bytes(header[8:16], "big"), at + 16
        elif size == 0:
            size = end - at
        if size < body - at or at + size > end:
            return None
        if name == path[0]:
            if name == b"meta":
                body += 4  # a full box: version and flags before the children
            return (
                (body, at + size)
                if len(path) == 1
                else _find_box(stream, body, at + size, path[1:])
            )
        at += size
    return None


_READERS: dict[str, Callable[[BinaryIO], str | None]] = {
    ".pdf": pdf_title,
    ".epub": epub_title,
    ".mp3": mp3_title,
    ".ogg": ogg_title,
    ".oga": ogg_title,
    ".opus": ogg_title,
    ".m4a": mp4_title,
    ".mp4": mp4_title,
    ".m4v": mp4_title,
}
