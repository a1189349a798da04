"""The app factory: settings in, a ready Flask app out. Nothing happens at import time."""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.wrappers import Response

from content.zim import configure_clusters, keep_clusters
from hub.core.datadir import open_prepared, read_secret_key
from hub.core.db import connected, db
from hub.core.jobs import JobRunner
from hub.core.settings import Config, load_config
from hub.hubsync.service import SyncService
from hub.learning.events import EventLog
from hub.library import cache
from hub.library.packs import Library
from hub.people.auth import init_sign_in, make_throttle
from hub.people.models import StaffUser
from hub.search.service import attach as attach_search
from hub.web import csrf, errors, i18n, response_headers, template_globals
from hub.web.cookie_sessions import CookieSessions
from hub.web.kept_responses import KeptResponses
from hub.web.views import (
    admin,
    api,
    appliance,
    authoring,
    authoring_quiz,
    authoring_uploads,
    books,
    captive,
    catalog,
    coach,
    files,
    h5p,
    health,
    jobs,
    letters,
    neighbours,
    outcomes,
    pages,
    partners,
    progress,
    quiz,
    search,
    session,
    share,
    shared_catalog,
    static,
    sync_admin,
    zim,
)

log = logging.getLogger(__name__)


class HubFlask(Flask):
    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """A plain function as it is: Flask asks `inspect` whether each view and hook it
        calls (about ten a page) is a coroutine, and that was 1.3% of a lesson page."""
        code = getattr(func, "__code__", None)
        if code is not None and not code.co_flags & inspect.CO_COROUTINE:
            return func
        return super().ensure_sync(func)


# The hub's own pages load nothing from outside the hub and run no inline script.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; "
    "style-src 'self'; frame-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def create_app(
    config: Config | None = None,
    *,
    data_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Flask:
    """Wire an app over a prepared data dir (hub.cli.common.prepare_data_dir); it changes
    nothing there, and raises NotPrepared (one sentence) over a dir that is not ready."""
    config = config or load_config(data_dir, overrides)
    keys = open_prepared(config)
    app = HubFlask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=read_secret_key(config),
        LEARNHUB=config,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.session_interface = CookieSessions()
    cache.configure(config.cache_bytes)
    keep_clusters(config.zim_cluster_cache_bytes)
    configure_clusters(config.zim_clusters_kept_bytes, config.zim_cluster_max_bytes)
    app.extensions["library"] = Library(config)
    app.extensions["jobs"] = JobRunner(config.jobs_waiting)
    app.extensions["keys"] = keys
    app.extensions["throttle"] = make_throttle(config)
    app.extensions["sync"] = SyncService(config, keys, app.extensions["library"])
    with connected():
        app.extensions["events"] = EventLog.start()
        app.extensions["setup_code"] = _setup_code()
    i18n.init_app(app)
    template_globals.register(app)
    errors.register(app)
    for blueprint in (
        health.bp,
        pages.bp,
        api.bp,
        files.bp,
        static.bp,
        session.bp,
        progress.bp,
        quiz.bp,
        admin.bp,
        coach.bp,
        search.bp,
        captive.bp,
        appliance.bp,
        share.bp,
        neighbours.bp,
        sync_admin.bp,
        zim.bp,
        catalog.bp,
        h5p.bp,
        books.bp,
        authoring.bp,
        authoring_uploads.bp,
        authoring_quiz.bp,
        jobs.bp,
        shared_catalog.bp,
        outcomes.bp,
        letters.bp,
        partners.bp,
    ):
        app.register_blueprint(blueprint)
    app.before_request(_connect)
    app.before_request(csrf.protect)  # after _connect: a refusal speaks the learner's language
    app.after_request(_finish)
    init_sign_in(app)

    # Outermost: a visitor's repeated request is answered before Flask (kept_responses.py).
    def see_the_time() -> None:
        app.extensions["clock"].now()

    app.wsgi_app = KeptResponses(app.wsgi_app, on_request=see_the_time)  # type: ignore[method-assign]
    # Catches up in the background when the index is behind the library (after a crash).
    attach_search(app, config)
    return app


def _connect() -> None:
    # One connection per worker thread, kept open: reconnecting re-runs the PRAGMAs, which
    # cost more than a small page's queries. waitress's pool is small and fixed.
    db.connect(reuse_if_open=True)


def _finish(response: Response) -> Response:
    return response_headers.finish(response, PAGE_CSP)


def _setup_code() -> str | None:
    """Until an operator exists, a one-time code printed in the log lets the person at the
    console create the first one through the web (/admin/setup)."""
    if StaffUser.has_operator():
        return None
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    log.warning(
        "No operator account yet. Open /admin/setup on this hub and enter the code %s", code
    )
    return code
