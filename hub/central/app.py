"""The central server's app factory, built from the hub's web pieces: one error shape, CSRF,
gzip, content-hashed static files, Flask-Babel. Nothing happens at import time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from flask_babel import Babel, format_datetime, format_timedelta, get_locale

from hub.central import api, outcome_pages, pages, pair_pages, shared_pages
from hub.central.auth import SESSION_KEY, current_staff
from hub.central.join_limit import JoinLimiter
from hub.core.datadir import secret_file
from hub.core.errors import HubError
from hub.core.settings import Config, SettingsError, load_config
from hub.core.translate import SOURCE_LANGUAGE, UI_LANGUAGES
from hub.people.auth import init_sign_in, make_throttle
from hub.web import errors, response_headers
from hub.web.csrf import csrf_token, protect
from hub.web.views import static
from hub.web.views.static import static_url
from sync.bundle import BundleError
from sync.central.db import central_db
from sync.central.errors import CentralError
from sync.central.service import Central
from sync.central.uploads import OffsetConflict, UploadLimits, UploadStore
from sync.identity import IdentityError
from sync.outcomes import Term, TermsError, parse_terms
from sync.records import RecordError

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'none'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_central_app(
    central: Central, limits: UploadLimits | None = None, config: Config | None = None
) -> Flask:
    """Central's web face; `config` defaults to the settings in central's data dir."""
    config = config or load_config(central.data_dir)
    central.terms = terms_of(config)
    limits = limits or UploadLimits(
        max_open_per_hub=config.central_uploads_per_hub,
        max_bytes_per_hub=config.central_upload_quota_bytes,
    )
    app = Flask("hub.central", template_folder=str(TEMPLATES), static_folder=None)
    app.config.update(
        SECRET_KEY=secret_file(central.data_dir / "secret_key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A chunk plus headroom: anything larger is refused before it is read.
        MAX_CONTENT_LENGTH=limits.max_chunk + 64 * 1024,
    )
    app.extensions["central"] = central
    app.extensions["uploads"] = UploadStore(central.data_dir / "uploads", limits)
    app.extensions["join_limit"] = JoinLimiter(per_window=config.central_joins_per_hour)
    app.extensions["hubs_waiting"] = config.central_hubs_waiting
    app.extensions["throttle"] = make_throttle(config)
    Babel(app, locale_selector=_locale)
    app.jinja_env.globals.update(
        static_url=static_url,
        csrf_token=csrf_token,
        current_staff=current_staff,
        get_locale=get_locale,
    )
    app.jinja_env.filters.update(ms_datetime=_ms_datetime, duration_words=_duration_words)
    errors.register(app)
    app.register_error_handler(CentralError, _refused)
    app.register_error_handler(BundleError, _bad_bundle)
    app.register_error_handler(RecordError, _bad_bundle)
    app.register_error_handler(IdentityError, _bad_identity)
    blueprints = (static.bp, api.bp, pages.bp, outcome_pages.bp, shared_pages.bp, pair_pages.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.before_request(_connect)
    app.before_request(protect)
    app.after_request(_finish)
    init_sign_in(app, signed_in_key=SESSION_KEY)
    app.extensions["uploads"].sweep()
    return app


def terms_of(config: Config) -> list[Term]:
    """The central_terms setting read; a setting that cannot be read is one sentence."""
    try:
        return parse_terms(config.central_terms)
    except TermsError as err:
        raise SettingsError(f"central_terms: {err}") from None


def _locale() -> str:
    return request.accept_languages.best_match(UI_LANGUAGES) or SOURCE_LANGUAGE


def _ms_datetime(millis: int) -> str:
    return format_datetime(datetime.fromtimestamp(millis / 1000, UTC), "short")


def _duration_words(seconds: float) -> str:
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0)


def _connect() -> None:
    # One connection per worker thread, kept open (waitress's pool is small and fixed).
    central_db.connect(reuse_if_open=True)


def _finish(response: Response) -> Response:
    return response_headers.finish(response, PAGE_CSP)


def _refused(error: CentralError) -> ResponseReturnValue:
    if isinstance(error, OffsetConflict):
        body = {"error": {"code": error.code, "message": str(error)}, "received": error.received}
        return jsonify(body), 409
    return errors.render_error(HubError(error.status, error.code, str(error)))


def _bad_bundle(error: Exception) -> ResponseReturnValue:
    return errors.render_error(HubError(400, "bad_bundle", str(error)))


def _bad_identity(error: IdentityError) -> ResponseReturnValue:
    return errors.render_error(HubError(400, "bad_identity", str(error)))
