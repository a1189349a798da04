"""Titles read from inside files (content/media_titles.py): real files made here by ffmpeg,
pypdf and zipfile, and hand-made hostile ones (lying sizes, loops, entity bombs, junk)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import NameObject, NumberObject

from content.media_titles import clean_title, metadata_title

SILENT_MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def title_of(name: str, data: bytes) -> str | None:
    return metadata_title(name, io.BytesIO(data))


def syncsafe(size: int) -> bytes:
    return bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])


def id3v23(frames: bytes, *, size: int | None = None, flags: int = 0) -> bytes:
    declared = len(frames) if size is None else size
    return b"ID3\x03\x00" + bytes([flags]) + syncsafe(declared) + frames


def frame23(name: bytes, body: bytes, *, size: int | None = None) -> bytes:
    declared = len(body) if size is None else size
    return name + struct.pack(">I", declared) + b"\x00\x00" + body


# -- MP3 ---------------------------------------------------------------------------------------


def test_id3v2_versions_and_encodings() -> None:
    v23 = id3v23(frame23(b"TPE1", b"\x00Band") + frame23(b"TIT2", b"\x03Song of the river"))
    assert title_of("a.mp3", v23 + SILENT_MP3_FRAME) == "Song of the river"
    utf16 = "Wimbo wa mto".encode("utf-16")
    v24_body = b"TIT2" + syncsafe(len(utf16) + 1) + b"\x00\x00" + b"\x01" + utf16
    v24 = b"ID3\x04\x00\x00" + syncsafe(len(v24_body)) + v24_body
    assert title_of("a.mp3", v24 + SILENT_MP3_FRAME) == "Wimbo wa mto"
    v22_body = b"TT2" + (len(b"\x00Old tag")).to_bytes(3, "big") + b"\x00Old tag"
    v22 = b"ID3\x02\x00\x00" + syncsafe(len(v22_body)) + v22_body
    assert title_of("a.MP3", v22) == "Old tag"


def test_id3v1_at_the_end_when_there_is_no_v2() -> None:
    v1 = b"TAG" + b"Counting to ten".ljust(30, b"\x00") + bytes(95)
    assert title_of("a.mp3", SILENT_MP3_FRAME * 3 + v1) == "Counting to ten"


@pytest.mark.parametrize(
    "data",
    [
        # the tag claims 256 MB: only what is there is read, and the frame in it still counts
        id3v23(frame23(b"TIT2", b"\x03Still here"), size=(1 << 28) - 1),
    ],
)
def test_a_lying_tag_size_reads_only_what_is_there(data: bytes) -> None:
    assert title_of("a.mp3", data) == "Still here"


@pytest.mark.parametrize(
    "data",
    [
        id3v23(frame23(b"TIT2", b"\x03Cut short", size=2_000_000_000)),  # frame larger than tag
        id3v23(frame23(b"TIT2", b"\x09bad encoding")),
        b"ID3\x03\x00\x00\xff\xff\xff\xff" + b"TIT2",  # not a syncsafe size
        b"ID3\x03\x00\x40" + syncsafe(10) + b"\xff\xff\xff\xff" + bytes(6),  # lying extended header
        b"ID3",
        b"",
        bytes(4096),
    ],
)
def test_broken_id3_gives_no_title(data: bytes) -> None:
    assert title_of("a.mp3", data) is None


def test_a_huge_declared_tag_costs_a_bounded_read() -> None:
    """256 MB declared, 40 MB present: the reader stops at its cap, fast."""
    data = id3v23(frame23(b"TPE1", bytes(40 * 1024**2)), size=(1 << 28) - 1)
    started = time.monotonic()
    assert title_of("a.mp3", data) is None
    assert time.monotonic() - started < 2


# -- Ogg and MP4 by hand -------------------------------------------------------------------------


def ogg_page(serial: int, sequence: int, packet_bytes: list[bytes]) -> bytes:
    table = b""
    for packet in packet_bytes:
        table += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = b"OggS\x00\x02" + bytes(8) + struct.pack("<IIIB", serial, sequence, 0, len(table))
    return header + table + b"".join(packet_bytes)


def vorbis_comments(*entries: bytes, count: int | None = None) -> bytes:
    body = (
        struct.pack("<I", 6)
        + b"vendor"
        + struct.pack("<I", len(entries) if count is None else count)
    )
    for entry in entries:
        body += struct.pack("<I", len(entry)) + entry
    return b"\x03vorbis" + body


def test_ogg_vorbis_and_opus_titles() -> None:
    ident = b"\x01vorbis" + bytes(23)
    comments = vorbis_comments(b"ARTIST=Choir", b"title=Morning song")
    data = ogg_page(7, 0, [ident]) + ogg_page(7, 1, [comments])
    assert title_of("a.ogg", data) == "Morning song"
    opus = b"OpusTags" + vorbis_comments(b"TITLE=Habari")[7:]
    data = ogg_page(1, 0, [b"OpusHead" + bytes(11)]) + ogg_page(1, 1, [opus])
    assert title_of("a.opus", data) == "Habari"


@pytest.mark.parametrize(
    "comments",
    [
        vorbis_comments(b"TITLE=x", count=4_000_000_000),  # more entries than bytes
        b"\x03vorbis" + struct.pack("<I", 4_000_000_000),  # vendor longer than the packet
        b"\x03vorbis"
        + struct.pack("<I", 6)
        + b"vendor"
        + struct.pack("<I", 1)
        + b"\xff\xff\xff\x7f",
        b"\x03vorbis",
    ],
)
def test_broken_vorbis_comments_give_no_title(comments: bytes) -> None:
    data = ogg_page(7, 0, [b"\x01vorbis" + bytes(23)]) + ogg_page(7, 1, [comments])
    assert title_of("a.ogg", data) is None
    assert title_of("a.ogg", data[: len(data) // 2]) is None  # truncated


def box(name: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + name + body


def mp4_with_title(title: bytes, *, media: bytes = b"") -> bytes:
    data = box(b"data", b"\x00\x00\x00\x01" + bytes(4) + title)
    ilst = box(b"ilst", box(b"\xa9nam", data))
    meta = box(b"meta", bytes(4) + box(b"hdlr", bytes(25)) + ilst)
    return (
        box(b"ftyp", b"M4A \x00\x00\x00\x00")
        + box(b"mdat", media)
        + box(b"moov", box(b"udta", meta))
    )


def test_mp4_title_after_the_media_data() -> None:
    assert title_of("a.m4a", mp4_with_title(b"Hadithi ya sungura", media=bytes(100_000))) == (
        "Hadithi ya sungura"
    )


@pytest.mark.parametrize(
    "data",
    [
        box(b"ftyp", b"M4A ") + struct.pack(">I", 0xFFFFFFF0) + b"moov",  # beyond the end
        box(b"ftyp", b"M4A ") + struct.pack(">I", 4) + b"moov" + bytes(64),  # smaller than a header
        box(b"ftyp", b"M4A ") + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 2**63),
        b"\x00\x00\x00\x08free" * 50_000,  # many boxes: the walk stops at its bound
        b"",
    ],
)
def test_broken_mp4_gives_no_title(data: bytes) -> None:
    started = time.monotonic()
    assert title_of("a.m4a", data) is None
    assert time.monotonic() - started < 2


# -- PDF and EPUB ----------------------------------------------------------------------------------


def pdf_with(title: object) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    if title is not None:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_title() -> None:
    assert title_of("a.pdf", pdf_with("Adding fractions")) == "Adding fractions"
    assert title_of("a.pdf", pdf_with(None)) is None
    assert title_of("a.pdf", pdf_with("Microsoft Word - notes.docx")) is None


def test_broken_pdf_titles_give_none() -> None:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer._info.get_object()[NameObject("/Title")] = NumberObject(42)  # a number, not text
    out = io.BytesIO()
    writer.write(out)
    assert title_of("a.pdf", out.getvalue()) is None
    good = pdf_with("Whole")
    assert title_of("a.pdf", good[: len(good) // 3]) in (None, "Whole")  # truncated: no crash
    assert title_of("a.pdf", b"%PDF-1.7\n" + bytes(5000)) is None
    assert title_of("a.pdf", b"not a pdf at all") is None


def epub(opf: bytes, *, container: bytes | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            container
            or b'<?xml version="1.0"?><container version="1.0" '
            b'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            b'<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            b"</rootfiles></container>",
        )
        book.writestr("OEBPS/content.opf", opf)
    return out.getvalue()


OPF = (
    b'<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" '
    b'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:title>Sungura mjanja</dc:title><dc:language>sw</dc:language></metadata></package>"
)


def test_epub_title() -> None:
    assert title_of("book.epub", epub(OPF)) == "Sungura mjanja"


@pytest.mark.parametrize(
    "data",
    [
        epub(
            b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<package><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b"<dc:title>&b;</dc:title></metadata></package>"
        ),
        epub(OPF, container=b"<container>no rootfile</container>"),
        epub(b"<package><unclosed>"),
        epub(OPF)[:200],
        b"PK\x03\x04 junk",
    ],
)
def test_broken_epubs_give_no_title(data: bytes) -> None:
    assert title_of("book.epub", data) is None


def test_clean_title() -> None:
    assert clean_title("  Adding\tfractions\x00 \n") == "Adding fractions"
    assert clean_title("Untitled") is None and clean_title("slide 1") is None
    assert clean_title("1234") is None and clean_title("") is None
    assert clean_title("x" * 400 + " end") == "x" * 300
    assert clean_title("e\u0301cole") == "\u00e9cole"


# -- real files --------------------------------------------------------------------------------


def ffmpeg(*args: str) -> None:
    assert shutil.which("ffmpeg"), "ffmpeg is missing: scripts/test installs it"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


@pytest.mark.parametrize("name", ["song.mp3", "song.ogg", "song.m4a", "film.mp4"])
def test_files_made_by_ffmpeg(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".mp4"):
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=96x64:rate=5",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            "title=Hadithi: the river",
            str(path),
        )
    else:
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-metadata",
            "title=Hadithi: the river",
            str(path),
        )
    with open(path, "rb") as stream:
        assert metadata_title(name, stream) == "Hadithi: the river"
