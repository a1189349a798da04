"""A pack as the hub's answers show it: the one "pack or 404" lookup the views use, and the one
function that turns a pack into JSON (the API, sharing with neighbour hubs, `content list`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.core.errors import HubError
from hub.core.translate import gettext
from hub.library.models import Pack, ZimArchive

# Every field a pack shows; each answer picks its own, in the order it prints them.
PACK_FIELDS = (
    "id",
    "version",
    "title",
    "description",
    "language",
    "subjects",
    "grades",
    "license",
    "attribution",
    "size",
    "lessons",
)


def pack_or_404(
    pack_id: str, *, named: bool = False, find: Callable[[str], Pack | None] = Pack.by_id
) -> Pack:
    """The installed pack `pack_id` (looked up by `find`), else HubError 404 pack_not_found.
    Pages say there is no such pack; `named` answers (JSON for programs) name the id asked."""
    found = find(pack_id)
    if found is not None:
        return found
    if named:
        message = gettext("No pack %(pack)r is installed.", pack=pack_id)
    else:
        message = gettext("There is no such pack in this library.")
    raise HubError(404, "pack_not_found", message)


def pack_json(
    pack: Pack, lessons: int | None = None, fields: Sequence[str] = PACK_FIELDS
) -> dict[str, Any]:
    """`fields` of `pack` (PACK_FIELDS, or "manifest" of a pack read with it), in that order;
    "lessons" is the count given, which the caller has from one query for every pack."""
    return {name: lessons if name == "lessons" else getattr(pack, name) for name in fields}


def zim_json(zim: ZimArchive) -> dict[str, Any]:
    """An installed ZIM as `content list --json` and the API show it ("id" is its name)."""
    return {
        "kind": "zim",
        "id": zim.name,
        "zim_name": zim.zim_name,
        "title": zim.title,
        "description": zim.description,
        "language": zim.language,
        "date": zim.date,
        "articles": zim.article_count,
        "media": zim.media_count,
        "size": zim.size,
        "license": zim.license,
        "creator": zim.creator,
        "publisher": zim.publisher,
        "has_fulltext_index": zim.has_fulltext_index,
        "uuid": zim.uuid,
    }
