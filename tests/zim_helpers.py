"""Real ZIM files for tests: the openZIM/Kiwix test files in ../shared/testdata/zim (read where
they are, never copied into the repository), and small ones written here with libzim's own
Creator when a test needs a newer edition of a file, a redirect or a page of its own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from libzim.writer import Creator, FileProvider, Hint, Item, StringProvider

from tests.testdata import TESTDATA as SHARED_TESTDATA

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = SHARED_TESTDATA / "zim"
GOOD = sorted(TESTDATA.glob("*.zim"))
INVALID = sorted((TESTDATA / "invalid").glob("*.zim"))
RAY = TESTDATA / "ray-charles-wikipedia-en.zim"
CORNER = TESTDATA / "corner-cases-en.zim"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Entry:
    mimetype: str
    content: bytes | Path
    title: str = ""
    compress: bool = True
    front: bool = True


@dataclass
class ZimSpec:
    name: str = "test_zim_en"
    title: str = "Test library"
    date: str = "2024-01-01"
    language: str = "eng"
    description: str = "A ZIM written by the tests"
    license: str = "CC-BY-SA-4.0"
    tags: str = ""
    main: str = "index.html"
    entries: dict[str, Entry] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> target path


class _Item(Item):
    def __init__(self, path: str, entry: Entry) -> None:
        super().__init__()
        self._path, self._entry = path, entry

    def get_path(self) -> str:
        return self._path

    def get_title(self) -> str:
        return self._entry.title or self._path

    def get_mimetype(self) -> str:
        return self._entry.mimetype

    def get_contentprovider(self) -> StringProvider | FileProvider:
        content = self._entry.content
        if isinstance(content, Path):
            return FileProvider(str(content))
        return StringProvider(content)

    def get_hints(self) -> dict:
        return {Hint.FRONT_ARTICLE: self._entry.front, Hint.COMPRESS: self._entry.compress}


def default_entries() -> dict[str, Entry]:
    return {
        "index.html": Entry(
            "text/html",
            b"<!doctype html><html><head><title>Home</title></head><body><h1>Home</h1>"
            b'<p><a href="articles/first.html">First article</a></p></body></html>',
            "Home",
        ),
        "articles/first.html": Entry(
            "text/html",
            b"<!doctype html><html><head><title>First</title>"
            b'<link rel="stylesheet" href="../style.css"></head><body><h1>First article</h1>'
            b'<p><a href="../index.html">Home</a></p></body></html>',
            "First article",
        ),
        "style.css": Entry("text/css", b"h1 { color: #333 }", front=False),
    }


def make_zim(where: Path, spec: ZimSpec | None = None) -> Path:
    spec = spec or ZimSpec()
    entries = spec.entries or default_entries()
    where.parent.mkdir(parents=True, exist_ok=True)
    with Creator(str(where)).config_indexing(False, spec.language).config_verbose(False) as c:
        for key in ("Name", "Title", "Date", "Language", "Description", "License", "Tags"):
            value = getattr(spec, key.lower())
            if value:
                c.add_metadata(key, value)
        c.add_metadata("Creator", "Learning Hub tests")
        c.add_metadata("Publisher", "Learning Hub tests")
        c.add_illustration(48, PNG_1X1)
        for path, entry in entries.items():
            c.add_item(_Item(path, entry))
        for path, target in spec.redirects.items():
            c.add_redirection(path, path, target, {Hint.FRONT_ARTICLE: False})
        c.set_mainpath(spec.main)
    return where


def split(zim: Path, folder: Path, part_size: int) -> list[Path]:
    """Cut a ZIM into .zimaa, .zimab, ... parts as zimsplit does."""
    data = zim.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for n, start in enumerate(range(0, len(data), part_size)):
        part = folder / f"{zim.stem}.zim{chr(97 + n // 26)}{chr(97 + n % 26)}"
        part.write_bytes(data[start : start + part_size])
        parts.append(part)
    return parts


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
        f.flush()
        os.fsync(f.fileno())
