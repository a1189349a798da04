"""The OPDS feeds of the hub's ZIMs, in the shape kiwix-serve publishes under /catalog/v2 (its
static/templates/catalog_v2_*.xml), so the Kiwix apps find the hub's files and download them.

Written with xml.etree: every text and attribute is escaped by the serializer, and characters
XML 1.0 cannot carry (control characters a ZIM's metadata may hold) are dropped first, so a
hostile title never breaks the feed. The prefixes (dc:, thr:, opensearch:) are written as
kiwix-serve writes them; the namespaces are declared on each feed's root.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

from babel import Locale, UnknownLocaleError

from content.zim.reader import bcp47
from hub.library.models import ZimArchive
from hub.library.zim_catalog import CatalogPage, category_of, language_codes

ATOM = "http://www.w3.org/2005/Atom"
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
OPENSEARCH = "application/opensearchdescription+xml"
THUMBNAIL = "http://opds-spec.org/image/thumbnail"
OPEN_ACCESS = "http://opds-spec.org/acquisition/open-access"
ICON_SIZE = 48  # the one illustration a ZIM is read for (ZimMetadata.illustration)
_NAMESPACES = {
    "xmlns": ATOM,
    "xmlns:dc": "http://purl.org/dc/terms/",
    "xmlns:opds": "https://specs.opds.io/opds-1.2",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class Feeds:
    """The feeds of one hub: `root` is the catalog's path ("/catalog/v2"), `host_url` the
    address the client reached ("http://10.0.0.1:8080/"), `library_id` what the feeds' ids
    are made from (the hub's id), `now` the time they say they were updated."""

    def __init__(self, root: str, host_url: str, library_id: str, now: str) -> None:
        self.root = root
        self.host_url = host_url.rstrip("/")
        self.library_id = library_id
        self.now = now

    def feed_id(self, what: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.library_id}{what}"))

    def root_feed(self) -> bytes:
        navigation = {"xmlns": ATOM, "xmlns:opds": _NAMESPACES["xmlns:opds"]}
        feed = self._feed(navigation, "/root.xml", NAVIGATION, "OPDS Catalog Root")
        _link(feed, "search", f"{self.root}/searchdescription.xml", OPENSEARCH)
        _text(feed, "updated", self.now)
        sections = (
            ("All entries", "/entries", ACQUISITION, "All entries from this catalog."),
            (
                "All entries (partial)",
                "/partial_entries",
                ACQUISITION,
                "All entries from this catalog in partial format.",
            ),
            (
                "List of categories",
                "/categories",
                NAVIGATION,
                "List of all categories in this catalog.",
            ),
            (
                "List of languages",
                "/languages",
                NAVIGATION,
                "List of all languages in this catalog.",
            ),
        )
        for title, path, kind, content in sections:
            entry = ET.SubElement(feed, "entry")
            _text(entry, "title", title)
            _link(entry, "subsection", self.root + path, kind)
            _text(entry, "updated", self.now)
            _text(entry, "id", self.feed_id(path))
            _text(entry, "content", content, type="text")
        return _document(feed)

    def entries(self, page: CatalogPage, query: str, partial: bool = False) -> bytes:
        """An acquisition feed; `query` is the request's query string, echoed as kiwix does."""
        endpoint = "/partial_entries" if partial else "/entries"
        url = endpoint + (f"?{query}" if query else "")
        feed = ET.Element(
            "feed", {**_NAMESPACES, "xmlns:opensearch": "http://a9.com/-/spec/opensearch/1.1/"}
        )
        _text(feed, "id", self.feed_id(f"{endpoint}?{query}"))
        _link(feed, "self", self.root + url, ACQUISITION)
        _link(feed, "start", f"{self.root}/root.xml", NAVIGATION)
        _link(feed, "up", f"{self.root}/root.xml", NAVIGATION)
        _text(feed, "title", f"Filtered Entries ({query})" if query else "All Entries")
        _text(feed, "updated", self.now)
        if query:
            _text(feed, "totalResults", str(page.total))
            _text(feed, "startIndex", str(page.start))
            _text(feed, "itemsPerPage", str(len(page.archives)))
        for archive in page.archives:
            if partial:
                self._partial_entry(feed, archive)
            else:
                self._entry(feed, archive)
        return _document(feed)

    def entry(self, archive: ZimArchive) -> bytes:
        """One complete entry as its own document (/catalog/v2/entry/<uuid>)."""
        holder = ET.Element("holder")
        self._entry(holder, archive)
        entry = holder[0]
        entry.attrib.update(_NAMESPACES)
        return _document(entry)

    def categories(self, archives: list[ZimArchive]) -> bytes:
        feed = self._feed(_NAMESPACES, "/categories", NAVIGATION, "List of categories")
        _text(feed, "updated", self.now)
        for category in sorted({category_of(a) for a in archives} - {""}):
            entry = ET.SubElement(feed, "entry")
            _text(entry, "title", category)
            href = f"{self.root}/entries?category={quote(category, safe='')}"
            _link(entry, "subsection", href, ACQUISITION)
            _text(entry, "updated", self.now)
            _text(entry, "id", self.feed_id(f"/categories/{quote(category, safe='')}"))
            _text(entry, "content", f"All entries with category of '{category}'.", type="text")
        return _document(feed)

    def languages(self, archives: list[ZimArchive]) -> bytes:
        namespaces = {**_NAMESPACES, "xmlns:thr": "http://purl.org/syndication/thread/1.0"}
        feed = self._feed(namespaces, "/languages", NAVIGATION, "List of languages")
        _text(feed, "updated", self.now)
        counts: dict[str, int] = {}
        for archive in archives:
            for code in dict.fromkeys(language_codes(archive)):
                counts[code] = counts.get(code, 0) + 1
        for code, count in sorted(counts.items()):
            entry = ET.SubElement(feed, "entry")
            _text(entry, "title", self_name(code))
            _text(entry, "dc:language", code)
            _text(entry, "thr:count", str(count))
            _link(
                entry, "subsection", f"{self.root}/entries?lang={quote(code, safe='')}", ACQUISITION
            )
            _text(entry, "updated", self.now)
            _text(entry, "id", self.feed_id(f"/languages/{code}"))
        return _document(feed)

    def search_description(self) -> bytes:
        description = ET.Element(
            "OpenSearchDescription", {"xmlns": "http://a9.com/-/spec/opensearch/1.1/"}
        )
        _text(description, "ShortName", "Zim catalog search")
        _text(description, "Description", "Search zim files in the catalog.")
        template = (
            f"{self.root}/entries?q={{searchTerms?}}&lang={{language?}}&name={{k:name?}}"
            "&tag={k:tag?}&maxsize={k:maxsize?}&count={count?}&start={startIndex?}"
        )
        ET.SubElement(
            description,
            "Url",
            {
                "type": ACQUISITION,
                "xmlns:atom": ATOM,
                "xmlns:k": "http://kiwix.org/opensearchextension/1.0",
                "indexOffset": "0",
                "template": template,
            },
        )
        return _document(description)

    # One ZIM.

    def _entry(self, parent: ET.Element, archive: ZimArchive) -> None:
        date = _day(archive)
        entry = ET.SubElement(parent, "entry")
        _text(entry, "id", f"urn:uuid:{archive.uuid}")
        _text(entry, "title", archive.title)
        _text(entry, "updated", date)
        _text(entry, "summary", archive.description)
        _text(entry, "language", ",".join(language_codes(archive)))
        _text(entry, "name", archive.zim_name or archive.name)
        _text(entry, "flavour", archive.flavour)
        _text(entry, "category", category_of(archive))
        _text(entry, "tags", archive.tags)
        _text(entry, "articleCount", str(archive.article_count))
        _text(entry, "mediaCount", str(archive.media_count))
        if archive.illustration:
            href = f"{self.root}/illustration/{archive.uuid}/?size={ICON_SIZE}"
            icon = f"image/png;width={ICON_SIZE};height={ICON_SIZE};scale=1"
            _link(entry, THUMBNAIL, href, icon)
        ET.SubElement(entry, "link", {"type": "text/html", "href": f"/zims/{quote(archive.name)}"})
        _named(entry, "author", archive.creator)
        _named(entry, "publisher", archive.publisher)
        _text(entry, "dc:issued", date)
        # Absolute: the apps hand this address to the phone's downloader as it is.
        ET.SubElement(
            entry,
            "link",
            {
                "rel": OPEN_ACCESS,
                "type": "application/x-zim",
                "href": self.host_url + download_path(archive),
                "length": str(archive.size),
            },
        )

    def _partial_entry(self, parent: ET.Element, archive: ZimArchive) -> None:
        entry = ET.SubElement(parent, "entry")
        _text(entry, "id", f"urn:uuid:{archive.uuid}")
        _text(entry, "title", archive.title)
        _text(entry, "updated", _day(archive))
        _link(entry, "alternate", f"{self.root}/entry/{archive.uuid}", ENTRY)

    def _feed(self, namespaces: dict[str, str], path: str, kind: str, title: str) -> ET.Element:
        feed = ET.Element("feed", namespaces)
        _text(feed, "id", self.feed_id("" if path == "/root.xml" else path))
        _link(feed, "self", self.root + path, kind)
        _link(feed, "start", f"{self.root}/root.xml", NAVIGATION)
        _text(feed, "title", title)
        return feed


def download_path(archive: ZimArchive) -> str:
    """Where the whole .zim file is served; its last part is the file's own name, which the
    apps keep as the name of the downloaded file."""
    return f"/zims/{quote(archive.name)}/download/{quote(archive.file_name)}"


def self_name(code: str) -> str:
    """A language's name in itself ("français" for fra), as kiwix-serve lists languages."""
    try:
        locale = Locale.parse(bcp47(code).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return locale.get_display_name(locale) or code


def _day(archive: ZimArchive) -> str:
    day = (
        archive.date
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", archive.date)
        else archive.installed_at[:10]
    )
    return f"{day}T00:00:00Z"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = _clean(text)
    return element


def _named(parent: ET.Element, tag: str, name: str) -> None:
    _text(ET.SubElement(parent, tag), "name", name)


def _link(parent: ET.Element, rel: str, href: str, kind: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "href": _clean(href), "type": kind})


def _document(root: ET.Element) -> bytes:
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
