"""EPUB books written by hand for tests (zipfile, no tool): plain, right-to-left, hostile."""

from __future__ import annotations

import zipfile
from pathlib import Path

CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)
# Every way a chapter might run script; each would set top.PWNED if it ran.
HOSTILE = (
    "<script>top.PWNED = 'script'</script>"
    '<img src="nope.png" onerror="top.PWNED = \'onerror\'"/>'
    '<a id="js" href="javascript:top.PWNED = \'link\'">a link</a>'
)


def write_epub(
    path: Path,
    title: str = "Sungura mjanja",
    language: str = "sw",
    words: str = "Sungura alikimbia haraka sana msituni.",
    chapters: int = 3,
    rtl: bool = False,
    hostile: bool = False,
) -> Path:
    """A small EPUB 3 book: `chapters` chapters, each long enough for several phone pages."""
    items = "".join(
        f'<item id="c{i}" href="c{i}.xhtml" media-type="application/xhtml+xml"/>'
        for i in range(chapters)
    )
    refs = "".join(f'<itemref idref="c{i}"/>' for i in range(chapters))
    direction = ' page-progression-direction="rtl"' if rtl else ""
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:test:{title}</dc:identifier><dc:title>{title}</dc:title>'
        f"<dc:language>{language}</dc:language></metadata><manifest>{items}"
        '<item id="nav" href="nav.xhtml" properties="nav" media-type="application/xhtml+xml"/>'
        f"</manifest><spine{direction}>{refs}</spine></package>"
    )
    nav = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>'
        '<li><a href="c0.xhtml">1</a></li></ol></nav></body></html>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", CONTAINER)
        book.writestr("OEBPS/book.opf", opf)
        book.writestr("OEBPS/nav.xhtml", nav)
        for i in range(chapters):
            body = f"<h1>{i + 1}</h1><p>{' '.join([words] * 150)}</p>"
            extra = HOSTILE if hostile else ""
            onload = " onload=\"top.PWNED = 'onload'\"" if hostile else ""
            book.writestr(
                f"OEBPS/c{i}.xhtml",
                '<?xml version="1.0" encoding="utf-8"?>'
                f'<html xmlns="http://www.w3.org/1999/xhtml" lang="{language}"><head>'
                f"<title>{i + 1}</title>{extra}</head><body{onload}>{body}{extra}</body></html>",
            )
    return path
