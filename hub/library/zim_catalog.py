"""The hub's ZIMs as a catalog the Kiwix apps read (the OPDS feed is hub/web/opds.py): which
ZIMs a query selects, with kiwix-serve's filters and paging.

kiwix-serve answers `/catalog/v2/entries?q=&lang=&category=&name=&tag=&notag=&maxsize=&start=
&count=` from a Xapian index of its library; a hub holds a handful of ZIMs, so the same filters
run over the rows in memory. `lang` and `category` take comma-separated lists (any one
matches), `tag` and `notag` semicolon-separated ones (all must hold), `q` every word (a
`-word` must be absent, a "quoted phrase" present as it is, `title:word` in that field only).
Numbers are range-checked: a `count` over MAX_COUNT (or kiwix's -1, "all") is clamped; a
negative `start`, or a value that is not a number or is too long, is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hub.library.models import ZimArchive

DEFAULT_COUNT = 10  # as kiwix-serve
MAX_COUNT = 500  # entries in one answer, whatever is asked
MAX_START = 10**9
MAX_VALUE_CHARS = 200  # any one parameter
MAX_LIST_ITEMS = 20  # languages, categories or tags in one parameter
_NUMBER_CHARS = 20  # "99999999999999999999" is a huge count (clamped), not garbage
_WORD = re.compile(r"\w+")
_TERM = re.compile(r'(-?)(?:(\w+):)?("[^"]*"?|\S+)')
CATEGORY_TAG = "_category:"


class CatalogError(ValueError):
    """A query the catalog refuses; str() is one sentence (the view answers 400)."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # a phrase: these words in this order
    field: str | None = None
    negated: bool = False


@dataclass(frozen=True)
class CatalogQuery:
    terms: tuple[Term, ...] = ()
    languages: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    name: str | None = None
    tags: frozenset[str] = frozenset()
    notags: frozenset[str] = frozenset()
    max_size: int | None = None
    start: int = 0
    count: int = DEFAULT_COUNT


@dataclass(frozen=True)
class CatalogPage:
    total: int  # ZIMs the filters select
    start: int
    archives: list[ZimArchive]  # the page of them asked for


def parse_query(args: Mapping[str, str]) -> CatalogQuery:
    """The query from a request's arguments; CatalogError for one that cannot be answered."""
    for key in ("q", "lang", "category", "name", "tag", "notag", "maxsize", "start", "count"):
        if len(args.get(key, "")) > MAX_VALUE_CHARS:
            raise CatalogError(f"The {key} parameter is longer than {MAX_VALUE_CHARS} characters.")
    count = _number(args, "count", DEFAULT_COUNT)
    start = _number(args, "start", 0)
    if start < 0:
        raise CatalogError("The start parameter cannot be negative.")
    max_size = _number(args, "maxsize", -1)
    return CatalogQuery(
        terms=_terms(args.get("q", "")),
        languages=_listed(args, "lang", ","),
        categories=_listed(args, "category", ","),
        name=_fold(args["name"]) if args.get("name") else None,
        tags=_listed(args, "tag", ";"),
        notags=_listed(args, "notag", ";"),
        max_size=max_size if max_size >= 0 else None,
        start=min(start, MAX_START),
        count=MAX_COUNT if count < 0 else min(count, MAX_COUNT),  # kiwix: negative is "all"
    )


def select(query: CatalogQuery, archives: Iterable[ZimArchive] | None = None) -> CatalogPage:
    """The page of ZIMs (by language, then title) the query selects."""
    chosen = [
        a for a in (ZimArchive.ordered() if archives is None else archives) if _accepts(query, a)
    ]
    return CatalogPage(len(chosen), query.start, chosen[query.start : query.start + query.count])


def category_of(archive: ZimArchive) -> str:
    """Its category as kiwix reads it: the `_category:` tag ("" without one)."""
    for tag in tag_list(archive):
        if tag.startswith(CATEGORY_TAG):
            return tag[len(CATEGORY_TAG) :]
    return ""


def tag_list(archive: ZimArchive) -> list[str]:
    return [tag.strip() for tag in archive.tags.split(";") if tag.strip()]


def language_codes(archive: ZimArchive) -> list[str]:
    """The ZIM's languages as it writes them (ISO 639-3: "eng", "fra"), else its BCP 47 one."""
    codes = [code.strip() for code in archive.languages.split(",") if code.strip()]
    return codes or ([archive.language] if archive.language else [])


# Reading the query.


def _number(args: Mapping[str, str], key: str, default: int) -> int:
    text = args.get(key, "").strip()
    if not text:
        return default
    if len(text) > _NUMBER_CHARS or not re.fullmatch(r"-?[0-9]+", text):
        raise CatalogError(f"The {key} parameter must be a whole number.")
    return int(text)


def _listed(args: Mapping[str, str], key: str, separator: str) -> frozenset[str]:
    items = [_fold(item) for item in args.get(key, "").split(separator) if item.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise CatalogError(f"The {key} parameter lists more than {MAX_LIST_ITEMS} values.")
    return frozenset(items)


def _terms(text: str) -> tuple[Term, ...]:
    terms = []
    for negated, field, value in _TERM.findall(text):
        words = tuple(_words(value))
        if words:
            terms.append(Term(words, field.lower() or None, bool(negated)))
    return tuple(terms)


def _fold(text: str) -> str:
    """Lower case without accents, as kiwix's normalizeText: "Français" matches "francais"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


# Matching one ZIM.


def _accepts(query: CatalogQuery, archive: ZimArchive) -> bool:
    tags = {_fold(tag) for tag in tag_list(archive)}
    checks = (
        not query.languages or bool(query.languages & {_fold(c) for c in language_codes(archive)}),
        not query.categories or _fold(category_of(archive)) in query.categories,
        query.name is None or query.name in {_fold(archive.zim_name), _fold(archive.name)},
        query.tags <= tags,
        not query.notags & tags,
        query.max_size is None or archive.size <= query.max_size,
    )
    return all(checks) and all(_term_holds(term, archive) for term in query.terms)


def _term_holds(term: Term, archive: ZimArchive) -> bool:
    fields = _fields(archive)
    texts = [fields[term.field]] if term.field in fields else list(fields.values())
    phrase = " " + " ".join(term.words) + " "
    found = any(phrase in " " + " ".join(_words(text)) + " " for text in texts)
    return found != term.negated


def _fields(archive: ZimArchive) -> dict[str, str]:
    return {
        "title": archive.title,
        "description": archive.description,
        "name": f"{archive.zim_name} {archive.name}",
        "flavour": archive.flavour,
        "category": category_of(archive),
        "lang": " ".join(language_codes(archive)),
        "publisher": archive.publisher,
        "creator": archive.creator,
        "tag": " ".join(tag_list(archive)),
    }
