"""EPUB books (.epub): what the hub checks before it takes one, and where its chapters are.

    book = read_epub(path, limits, name)   # PackError: one sentence naming the book and fault
    book.chapters                          # the spine's files, in reading order
    book.direction                         # "rtl" when pages turn right to left

A book is a zip: META-INF/container.xml names the package document (.opf), whose manifest lists
the files and whose spine the reading order. The reader (epub.js) reads the same files in the
browser; the checks here refuse what it could not open, so a learner never meets a broken book.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from content.errors import PackError
from content.source import DEFAULT_LIMITS, Limits, PackSource, open_source, quote, size_text

CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
MAX_XML_BYTES = 1024**2  # container.xml and the package document: a few KB in real books
MAX_CHAPTERS = 10_000
_CONTAINER_NS = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_ENC = "{http://www.w3.org/2001/04/xmlenc#}"
# Font obfuscation (IDPF and Adobe) is not DRM: the reader undoes it. Anything else is.
_FONT_OBFUSCATION = frozenset(
    {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
)


@dataclass(frozen=True)
class EpubBook:
    title: str  # "" when the book has none
    language: str  # "" when the book does not say
    direction: str  # "ltr" or "rtl" (the spine's page-progression-direction)
    package: str  # path of the package document in the zip
    chapters: tuple[str, ...]  # spine files (paths in the zip), in reading order


def read_epub(path: Path, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> EpubBook:
    """check_epub of the .epub file at `path`."""
    with open_source(path, limits, name) as source:
        return check_epub(source)


def check_epub(source: PackSource) -> EpubBook:
    """The book's reading order once every rule holds; else PackError, one sentence."""
    container = _xml(source, CONTAINER, f"{source.name} is not an EPUB book")
    rootfile = container.find(f"{_CONTAINER_NS}rootfiles/{_CONTAINER_NS}rootfile")
    package = rootfile.get("full-path", "") if rootfile is not None else ""
    if not package:
        raise PackError(f"{source.name}: {quote(CONTAINER)} names no package document.")
    opf = _xml(source, package, f"{source.name} lacks its package document")
    _check_not_locked(source)
    chapters = _spine(source, package, opf)
    spine = opf.find(f"{_OPF}spine")
    direction = spine.get("page-progression-direction", "") if spine is not None else ""
    return EpubBook(
        title=_text(opf, f"{_OPF}metadata/{_DC}title"),
        language=_text(opf, f"{_OPF}metadata/{_DC}language"),
        direction="rtl" if direction == "rtl" else "ltr",
        package=package,
        chapters=chapters,
    )


def _xml(source: PackSource, path: str, missing: str) -> ET.Element:
    where = f"{source.name}: {quote(path)}"
    if not source.has(path):
        raise PackError(f"{missing}: it has no {quote(path)}.")
    if source.size(path) > MAX_XML_BYTES:
        raise PackError(f"{where} is larger than {size_text(MAX_XML_BYTES)}.")
    data = source.read(path)
    # expat expands entities; no honest container or package document needs a DTD
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise PackError(f"{where} carries a DTD, which books do not need.")
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise PackError(f"{where} is not well-formed XML ({err}).") from None


def _check_not_locked(source: PackSource) -> None:
    if not source.has(ENCRYPTION):
        return
    encryption = _xml(source, ENCRYPTION, source.name)
    for method in encryption.iter(f"{_ENC}EncryptionMethod"):
        if method.get("Algorithm") not in _FONT_OBFUSCATION:
            raise PackError(f"{source.name} is locked by DRM and cannot be read without it.")


def _spine(source: PackSource, package: str, opf: ET.Element) -> tuple[str, ...]:
    where = f"{source.name}: {quote(package)}"
    base = posixpath.dirname(package)
    items = {
        item.get("id"): item.get("href", "")
        for item in opf.iterfind(f"{_OPF}manifest/{_OPF}item")
        if item.get("id")
    }
    refs = opf.findall(f"{_OPF}spine/{_OPF}itemref")
    if not refs:
        raise PackError(f"{where} lists no chapters in its spine.")
    if len(refs) > MAX_CHAPTERS:
        raise PackError(f"{where} lists more than {MAX_CHAPTERS} chapters.")
    chapters = []
    for ref in refs:
        href = items.get(ref.get("idref"))
        if not href:
            raise PackError(
                f"{where}: the spine names {quote(ref.get('idref') or '')}, "
                "which its manifest lacks."
            )
        path = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
        if not source.has(path):
            raise PackError(f"{where}: the chapter {quote(path)} is not in the book.")
        chapters.append(path)
    return tuple(dict.fromkeys(chapters))


def _text(root: ET.Element, path: str) -> str:
    found = root.find(path)
    return " ".join((found.text or "").split()) if found is not None else ""
