"""Search for people and programs: GET /search (a page that needs no JavaScript),
GET /api/search (JSON) and GET /api/search/suggest (titles as a student types).

A query we will not run (too long, a bad page number) is a 400 with one sentence; anything
else gets an answer, possibly empty, with a notice saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from hub.core.errors import HubError
from hub.core.translate import gettext, lazy_gettext
from hub.library.models import Pack
from hub.library.zim_pages import article_id
from hub.search.combined import ZIM_KIND
from hub.search.engine import MAX_PAGE, Filters, SearchResult
from hub.search.facets import FacetValue
from hub.search.merge import LESSONS
from hub.search.query import ParsedQuery, QueryError, clean, parse_query
from hub.search.schema import FACETS
from hub.search.service import SearchService, Suggested, settled
from hub.web.i18n import language_name, reader_languages
from hub.web.kept_responses import mark_shareable
from hub.web.template_globals import kind_label
from hub.web.views.zim import read_url
from hub.web.visitor_pages import same_for_visitors

ZIM_PREFIX = "zim:"

bp = Blueprint("search", __name__)

MAX_FILTER_VALUES = 10
MAX_FILTER_CHARS = 200
MAX_SUGGEST_CHARS = 100
# Query-string names of the facets; `lang` is the name the rest of the hub uses.
PARAMS = {
    "language": "lang",
    "subject": "subject",
    "grade": "grade",
    "kind": "kind",
    "pack": "pack",
    "source": "source",
}
NOTICES = {
    "relaxed": lazy_gettext(
        "No lesson has all of these words, so these lessons have some of them."
    ),
    "rebuilding": lazy_gettext(
        "The search index is being rebuilt. Results will be back in a moment."
    ),
    "updating": lazy_gettext(
        "The search index is being updated: the newest lessons may not show yet."
    ),
    "failed": lazy_gettext("This search could not be done. Please try other words."),
}
FACET_TITLES = {
    "language": lazy_gettext("Language"),
    "subject": lazy_gettext("Subject"),
    "grade": lazy_gettext("Grade"),
    "kind": lazy_gettext("Kind"),
    "pack": lazy_gettext("Pack"),
    "source": lazy_gettext("Source"),
}


def _service() -> SearchService:
    return current_app.extensions["search"]


@bp.get("/search")
@same_for_visitors
def page() -> ResponseReturnValue:
    try:
        parsed, filters, number = _read_request()
    except QueryError as err:
        context = {"query": request.args.get("q", "")[:200], "error": str(err)}
        return render_template("search.html", **context), 400
    result = _search(parsed, filters, number)
    response = make_response(_results_page(parsed, result))
    if not settled(result):
        response.headers["Cache-Control"] = "no-store"  # nor kept for other visitors
    return response


def _results_page(parsed: ParsedQuery, result: SearchResult) -> str:
    return render_template(
        "search.html",
        query=parsed.text,
        result=result,
        hits=[_hit_json(hit) for hit in result.hits],
        facets=_facets_json(result),
        notice=_notice(result),
        facet_url=_facet_url,
        page_url=_page_url,
        facet_titles=FACET_TITLES,
        suggestion_url=_suggestion_url(result.suggestion),
    )


@bp.get("/api/search")
def api() -> ResponseReturnValue:
    try:
        parsed, filters, number = _read_request()
    except QueryError as err:
        raise HubError(400, "bad_query", str(err)) from None
    result = _search(parsed, filters, number)
    notice = _notice(result)
    response = jsonify(
        {
            "query": result.query,
            "total": result.total,
            "page": result.page,
            "pages": result.pages,
            "results": [_hit_json(hit) for hit in result.hits],
            "facets": _facets_json(result),
            "suggestion": result.suggestion,
            "notice": {"code": result.notice, "message": notice} if notice else None,
        }
    )
    if settled(result):  # the same for every visitor: kept whole (hub/web/kept_responses.py)
        mark_shareable(response)
    return response


@bp.get("/api/search/suggest")
def suggest() -> ResponseReturnValue:
    raw = request.args.get("q", "")
    if len(raw) > MAX_SUGGEST_CHARS:
        raise HubError(
            400,
            "bad_query",
            gettext("Suggestions are for at most %(n)d characters.", n=MAX_SUGGEST_CHARS),
        )
    # A trailing space means the last word is complete: keep it through the cleaning.
    text = clean(raw) + (" " if raw[-1:].isspace() else "")
    found = (
        _service().suggested(text, tuple(reader_languages()))
        if text.strip()
        else Suggested([], settled=True)
    )
    response = jsonify(
        {
            "query": text.strip(),
            "suggestions": [
                {
                    "title": s.title,
                    "pack_id": s.pack_id,
                    "lesson_id": s.lesson_id,
                    "language": s.language,
                    "url": _url(s.pack_id, s.lesson_id),
                }
                | _zim_fields(s.pack_id, s.lesson_id)
                for s in found.items
            ],
        }
    )
    response.headers["Cache-Control"] = "max-age=60"
    response.headers["Vary"] = "Accept-Language"
    if found.settled:
        mark_shareable(response)
    return response


def _read_request() -> tuple[ParsedQuery, Filters, int]:
    parsed = parse_query(request.args.get("q", ""))
    filters = Filters(**{facet: _values(param) for facet, param in PARAMS.items()})
    raw_page = request.args.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,4}", raw_page) or not 1 <= int(raw_page) <= MAX_PAGE:
        raise QueryError(gettext("The page must be a whole number from 1 to %(n)d.", n=MAX_PAGE))
    return parsed, filters, int(raw_page)


def _values(param: str) -> tuple[str, ...]:
    values = [clean(v) for v in request.args.getlist(param)[:MAX_FILTER_VALUES]]
    return tuple(dict.fromkeys(v for v in values if v and len(v) <= MAX_FILTER_CHARS))


def _search(parsed: ParsedQuery, filters: Filters, number: int) -> SearchResult:
    return _service().search(parsed, filters, number, tuple(reader_languages()))


def _notice(result: SearchResult) -> str | None:
    message = NOTICES.get(result.notice or "")
    return str(message) if message else None


def _hit_json(hit: Any) -> dict[str, Any]:
    out = {
        "pack_id": hit.pack_id,
        "lesson_id": hit.lesson_id,
        "title": hit.title,
        "snippet": Markup(hit.snippet),
        "url": _url(hit.pack_id, hit.lesson_id),
        "kind": hit.kind,
        "language": hit.language,
        "topic": hit.topic,
        "pack_title": hit.pack_title,
    }
    return out | _zim_fields(hit.pack_id, hit.lesson_id)


def _zim_fields(pack_id: str, path: str) -> dict[str, str]:
    """A ZIM article's: lesson_id as progress and assignments name it, its ZIM and path."""
    name = _zim_name(pack_id)
    if not name:
        return {}
    return {"kind": ZIM_KIND, "lesson_id": article_id(path), "zim": name, "path": path}


def _zim_name(pack_id: str) -> str | None:
    return pack_id.removeprefix(ZIM_PREFIX) if pack_id.startswith(ZIM_PREFIX) else None


def _url(pack_id: str, lesson_id: str) -> str:
    """A lesson's page, or a ZIM article's page on the hub (lesson_id is then its path)."""
    name = _zim_name(pack_id)
    if name:
        return read_url(name, lesson_id)
    return url_for("pages.lesson", pack_id=pack_id, lesson_id=lesson_id)


def _facets_json(result: SearchResult) -> dict[str, list[dict[str, Any]]]:
    # The index knows each pack's title: no query of the hub database per search.
    packs = {v.value: v.label for v in result.facets.get("pack", []) if v.label}
    missing = [v for v in result.facets.get("pack", []) if not v.label]
    packs.update(_pack_titles(missing))
    titled = {v.value: v.label for v in result.facets.get("source", [])}  # the ZIMs' titles
    labels: dict[str, Callable[[str], str]] = {
        "language": language_name,
        "kind": kind_label,
        "pack": lambda value: packs.get(value, value),
        "subject": lambda value: value[:1].upper() + value[1:],
        "grade": _grade_label,
        "source": lambda value: titled.get(value) or _source_label(value),
    }
    return {
        facet: [
            {
                "value": v.value,
                "label": labels[facet](v.value),
                "count": v.count,
                "selected": v.selected,
            }
            for v in result.facets.get(facet, [])
        ]
        for facet in (*FACETS, "source")
    }


def _source_label(value: str) -> str:
    return gettext("Lessons") if value == LESSONS else value.removeprefix(ZIM_PREFIX)


def _grade_label(value: str) -> str:
    return gettext("Grade %(grade)s", grade=value)


def _pack_titles(values: list[FacetValue]) -> dict[str, str]:
    ids = [v.value for v in values]
    if not ids:
        return {}
    return {p.id: p.title for p in Pack.select(Pack.id, Pack.title).where(Pack.id.in_(ids))}


def _args(**changes: Any) -> dict[str, Any]:
    args = _request_args()
    args.pop("page", None)
    args.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in args.items() if v not in ([], "", None)}


def _request_args() -> dict[str, list[str]]:
    """The request's query, read once per request (a results page builds dozens of links)."""
    if "search_args" not in g:
        g.search_args = request.args.to_dict(flat=False)
    return dict(g.search_args)


def _search_url(args: dict[str, Any]) -> str:
    # One query string, no route building per link: a page has a link per facet value.
    query = urlencode(args, doseq=True)
    return f"{url_for('search.page')}?{query}" if query else url_for("search.page")


def _facet_url(facet: str, value: str) -> str:
    """The same search with this value chosen, or unchosen if it was."""
    param = PARAMS[facet]
    chosen = _request_args().get(param, [])
    values = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    return _search_url(_args(**{param: values}))


def _page_url(number: int) -> str:
    return _search_url(_args(page=str(number)))


def _suggestion_url(suggestion: str | None) -> str | None:
    return _search_url(_args(q=suggestion)) if suggestion else None
