"""Reading a checked ZIM: its metadata, its entries (redirects resolved), their bytes whole or
in chunks, where an uncompressed entry lies in the file, its main page and a random article.

A reader is safe to share between threads (libzim's archive is; the file offsets are read
with pread). Only open files that passed content.zim.check: libzim trusts its input. Entries in
zstd and xz clusters are read by content.zim.clusters, which lets go of the interpreter lock
while it decompresses (libzim does not); libzim reads whatever that module does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from content.zim.clusters import ClusterReader
from content.zim.errors import ZimError, libzim_reason
from content.zim.format import HEADER_SIZE, Header, direct_span, parse_header

if TYPE_CHECKING:
    from libzim.reader import Archive, Entry

ILLUSTRATION_SIZE = 48
MAX_REDIRECTS = 16
CHUNK = 256 * 1024
MAX_METADATA_TEXT = 4096
# ISO 639-3 codes as ZIMs write them -> the BCP 47 tags the hub's packs use.
_LANGUAGES = {
    "afr": "af", "amh": "am", "ara": "ar", "aze": "az", "bel": "be", "ben": "bn",
    "bul": "bg", "cat": "ca", "ces": "cs", "dan": "da", "deu": "de", "ell": "el",
    "eng": "en", "epo": "eo", "est": "et", "eus": "eu", "fas": "fa", "fin": "fi",
    "fra": "fr", "ful": "ff", "gle": "ga", "glg": "gl", "guj": "gu", "hau": "ha",
    "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "hye": "hy", "ibo": "ig",
    "ind": "id", "isl": "is", "ita": "it", "jpn": "ja", "kat": "ka", "kaz": "kk",
    "khm": "km", "kin": "rw", "kor": "ko", "lao": "lo", "lav": "lv", "lin": "ln",
    "lit": "lt", "lug": "lg", "mal": "ml", "mar": "mr", "mkd": "mk", "mlg": "mg",
    "msa": "ms", "mya": "my", "nep": "ne", "nld": "nl", "nor": "no", "nya": "ny",
    "orm": "om", "pan": "pa", "pol": "pl", "por": "pt", "pus": "ps", "ron": "ro",
    "rus": "ru", "sin": "si", "slk": "sk", "slv": "sl", "sna": "sn", "som": "so",
    "spa": "es", "sqi": "sq", "srp": "sr", "swa": "sw", "swe": "sv", "tam": "ta",
    "tel": "te", "tha": "th", "tir": "ti", "tsn": "tn", "tur": "tr", "twi": "tw",
    "ukr": "uk", "urd": "ur", "uzb": "uz", "vie": "vi", "wol": "wo", "xho": "xh",
    "yor": "yo", "zho": "zh", "zul": "zu",
}  # fmt: skip


@dataclass(frozen=True)
class ZimMetadata:
    """What a ZIM says about itself (openzim.org/wiki/Metadata); missing text is ""."""

    name: str
    title: str
    description: str
    language: str  # the first of Language, as a BCP 47 tag where one is known ("eng" -> "en")
    languages: str  # Language as written: ISO 639-3 codes, comma-separated
    creator: str
    publisher: str
    date: str
    license: str
    flavour: str
    tags: str
    uuid: str
    article_count: int
    media_count: int
    entry_count: int
    has_fulltext_index: bool
    has_title_index: bool
    main_path: str | None
    illustration: bytes | None  # the 48x48 PNG


@dataclass(frozen=True)
class ZimEntry:
    """An entry with content, reached from `asked` through `redirects` hops (0: asked itself)."""

    path: str
    title: str
    mimetype: str
    size: int
    index: int
    asked: str
    redirects: int = 0


def keep_clusters(max_bytes: int) -> None:
    """Bound libzim's cache of decompressed clusters, shared by every archive in the process.
    libzim counts a cluster by its compressed size, and a cached cluster also keeps its
    decompressor: memory grows about five times what is counted (docs/search.md). Applied
    when the first archive opens: libzim costs 7 MB loaded, and most hubs hold no ZIM."""
    global _cluster_cache_bytes
    _cluster_cache_bytes = max(0, max_bytes)


_cluster_cache_bytes: int | None = None


def _open_archive(path: Path) -> Archive:
    from libzim.reader import Archive, set_cluster_cache_max_size

    if _cluster_cache_bytes is not None:
        set_cluster_cache_max_size(_cluster_cache_bytes)
    return Archive(path)


def bcp47(language: str) -> str:
    first = language.split(",")[0].strip()
    return _LANGUAGES.get(first.lower(), first)


class ZimReader:
    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self._fd = -1
        try:
            self._archive = _open_archive(self.path)
            self._fd = os.open(self.path, os.O_RDONLY)
        except Exception as err:  # RuntimeError for a damaged file, OSError when it is gone
            raise ZimError(f"cannot open {self.name}: {libzim_reason(err)}.") from None
        self._header = self._read_header()
        self._clusters = ClusterReader(self._fd, self._header) if self._header else None

    def _read_header(self) -> Header | None:
        """The header, if the file ends where it says (else libzim reads every entry)."""
        try:
            header = parse_header(os.pread(self._fd, HEADER_SIZE, 0), "")
        except ZimError:
            return None
        return header if header.checksum_pos <= os.fstat(self._fd).st_size else None

    @property
    def archive(self) -> Archive:
        """libzim's archive, for its searchers (content.zim.search)."""
        return self._archive

    def __enter__(self) -> ZimReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        # A server drops a reader from its cache while requests may still use it: the file
        # is closed when the last one lets go, never under a request's feet.
        self.close()

    def metadata(self) -> ZimMetadata:
        archive = self._archive
        try:
            languages = self._text("Language")
            main = self._resolve(archive.main_entry) if archive.has_main_entry else None
            return ZimMetadata(
                name=self._text("Name"),
                title=self._text("Title"),
                description=self._text("Description"),
                language=bcp47(languages),
                languages=languages,
                creator=self._text("Creator"),
                publisher=self._text("Publisher"),
                date=self._text("Date"),
                license=self._text("License"),
                flavour=self._text("Flavour"),
                tags=self._text("Tags"),
                uuid=str(archive.uuid),
                article_count=archive.article_count,
                media_count=archive.media_count,
                entry_count=archive.entry_count,
                has_fulltext_index=archive.has_fulltext_index,
                has_title_index=archive.has_title_index,
                main_path=main.path if main else None,
                illustration=self._illustration(),
            )
        except ZimError:
            raise
        except Exception as err:
            raise ZimError(
                f"cannot read the metadata of {self.name}: {libzim_reason(err)}."
            ) from None

    def entry(self, path: str) -> ZimEntry | None:
        """The entry at `path` with its redirects followed; None if there is none (or the
        redirects loop)."""
        try:
            if not self._archive.has_entry_by_path(path):
                return None
            return self._resolve(self._archive.get_entry_by_path(path))
        except Exception:  # a path libzim cannot take (bad UTF-8 surrogates) is not there
            return None

    def title(self, path: str) -> tuple[str, str] | None:
        """(path, title) of the entry at `path` with its redirects followed, or None: what a
        search hit shows, read from the entry's directory record alone (sizing an entry
        decompresses the start of its cluster, which a list of hits never needs)."""
        try:
            entry = self._archive.get_entry_by_path(path)
            hops = 0
            while entry.is_redirect:
                hops += 1
                if hops > MAX_REDIRECTS:
                    return None
                entry = entry.get_redirect_entry()
            return entry.path, entry.title
        except Exception:  # not there, or a path libzim cannot take
            return None

    def main_entry(self) -> ZimEntry | None:
        try:
            if not self._archive.has_main_entry:
                return None
            return self._resolve(self._archive.main_entry)
        except Exception:
            return None

    def random_entry(self) -> ZimEntry | None:
        """A random article (a front article, as libzim picks them); None if there is none."""
        try:
            return self._resolve(self._archive.get_random_entry())
        except Exception:
            return None

    def read(self, entry: ZimEntry) -> bytes:
        """An entry's bytes, whole (for pages and small files)."""
        own = self._own_bytes(entry)
        if own is not None:
            return own
        try:
            return bytes(self._archive.get_entry_by_path(entry.path).get_item().content)
        except Exception as err:
            raise ZimError(
                f"cannot read {entry.path} in {self.name}: {libzim_reason(err)}."
            ) from None

    def chunks(self, entry: ZimEntry, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """An entry's bytes from `start`, `length` of them, in chunks. Uncompressed entries are
        read from the file as the chunks are asked for; a compressed one is decompressed now
        (a ZimError is raised here, before a response starts, never half-way through)."""
        end = entry.size if length is None else min(entry.size, start + length)
        offset = self.direct_offset(entry)
        if offset is not None:
            return self._file_chunks(offset + start, offset + end)
        content = self._own_bytes(entry)
        if content is None:
            try:
                content = self._archive.get_entry_by_path(entry.path).get_item().content
            except Exception as err:
                raise ZimError(
                    f"cannot read {entry.path} in {self.name}: {libzim_reason(err)}."
                ) from None
        view = memoryview(content)
        return (bytes(view[at : min(end, at + CHUNK)]) for at in range(start, end, CHUNK))

    def _file_chunks(self, position: int, end: int) -> Iterator[bytes]:
        while position < end:
            data = os.pread(self._fd, min(CHUNK, end - position), position)
            if not data:
                return
            position += len(data)
            yield data

    def _own_bytes(self, entry: ZimEntry) -> bytes | None:
        """The entry's bytes read by the hub itself (see content.zim.clusters), or None when
        libzim should read them. Raises ZimError for a cluster too large to decompress."""
        if self._clusters is None or self._fd < 0:
            return None
        data = self._clusters.read(entry.index)
        if data is None:
            offset = self.direct_offset(entry)
            data = os.pread(self._fd, entry.size, offset) if offset is not None else None
        return data if data is not None and len(data) == entry.size else None

    def direct_offset(self, entry: ZimEntry) -> int | None:
        """Where an uncompressed entry's bytes start in the ZIM file, else None."""
        if self._header is None or self._fd < 0:
            return None
        return direct_span(self._fd, self._header, entry.index, entry.size)

    def _resolve(self, entry: Entry) -> ZimEntry | None:
        asked = entry.path
        hops = 0
        while entry.is_redirect:
            hops += 1
            if hops > MAX_REDIRECTS:
                return None
            entry = entry.get_redirect_entry()
        item = entry.get_item()
        # libzim's size reads the cluster (decompressing its start, holding the interpreter
        # lock, and keeping it in libzim's cache); the offsets the hub read say the same.
        own = self._clusters.size(entry._index) if self._clusters and self._fd >= 0 else None
        size = item.size if own is None else own
        return ZimEntry(entry.path, entry.title, item.mimetype, size, entry._index, asked, hops)

    def _text(self, key: str) -> str:
        try:
            if key not in self._archive.metadata_keys:
                return ""
            value = self._archive.get_metadata(key)
        except Exception:
            return ""
        return value[:MAX_METADATA_TEXT].decode("utf-8", "replace").strip()

    def _illustration(self) -> bytes | None:
        try:
            if not self._archive.has_illustration(ILLUSTRATION_SIZE):
                return None
            data = bytes(self._archive.get_illustration_item(ILLUSTRATION_SIZE).content)
        except Exception:
            return None
        return data if data.startswith(b"\x89PNG") else None
