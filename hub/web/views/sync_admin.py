"""/admin/sync: where sync stands, in plain words, and the operator's two buttons: copy what
waits onto a USB stick, and push to central now (plus applying central's replies from a stick)."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _

from content.source import size_text
from hub.hubsync.central_pin import confirm, trust_of
from hub.hubsync.push import push
from hub.hubsync.service import SyncError, SyncService, usb_folder
from hub.people.auth import require
from sync.bundle import BundleError
from sync.records import RecordError

bp = Blueprint("sync_admin", __name__, url_prefix="/admin/sync")

MOUNT_ROOTS = (Path("/media"), Path("/run/media"), Path("/mnt"))
MAX_PATH = 4096


class PushRunner:
    """One push at a time in the background: a satellite upload can take minutes, and a page
    must not hold a worker thread that long."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, service: SyncService) -> bool:
        with self._lock:
            if self.running:
                return False
            self.thread = threading.Thread(target=_push_quietly, args=(service,), daemon=True)
            self.thread.start()
            return True

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


def _push_quietly(service: SyncService) -> None:
    # push() keeps the sentence as the last error: the page shows it.
    with contextlib.suppress(SyncError, ValueError):
        push(service)


def runner() -> PushRunner:
    return current_app.extensions.setdefault("sync_push", PushRunner())


def _service() -> SyncService:
    return current_app.extensions["sync"]


@bp.get("/")
@require("operator")
def index() -> ResponseReturnValue:
    return _page()


def _page(error: str | None = None, status: int = 200, **extra: Any) -> ResponseReturnValue:
    page = render_template(
        "sync_admin/index.html",
        sync=_service().status(),
        trust=trust_of(_service()),
        pushing=runner().running,
        mounts=mounted_folders(),
        error=error,
        folder=request.form.get("folder", ""),
        ago=ago,
        size_text=size_text,
        **extra,
    )
    return page, status


def ago(stamp: str | None) -> str:
    """ "3 hours ago" from a stored ISO time (its own text when it cannot be read)."""
    try:
        when = datetime.fromisoformat(stamp or "")
    except ValueError:
        return stamp or ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_timedelta(when - datetime.now(UTC), add_direction=True)


@bp.post("/export")
@require("operator")
def export() -> ResponseReturnValue:
    try:
        folder = _chosen_folder()
        result = _service().export(folder)
    except (SyncError, OSError) as err:
        return _page(_problem(err), 400)
    flash(
        ngettext(
            "Copied %(num)d file to %(folder)s. Take the stick to central.",
            "Copied %(num)d files to %(folder)s. Take the stick to central.",
            len(result.copied),
            folder=str(usb_folder(folder)),
        )
    )
    return redirect(url_for("sync_admin.index"), 303)


@bp.post("/import")
@require("operator")
def import_replies() -> ResponseReturnValue:
    try:
        results = _service().import_path(_chosen_folder())
    except (SyncError, BundleError, RecordError, OSError) as err:
        return _page(_problem(err), 400)
    refused = [p for result in results for p in result.packs if p.error]
    if refused:
        return _page(refused[0].error, 400)
    flash(
        ngettext(
            "Applied %(num)d reply from central.",
            "Applied %(num)d replies from central.",
            len(results),
        )
    )
    return redirect(url_for("sync_admin.index"), 303)


@bp.post("/push")
@require("operator")
def push_now() -> ResponseReturnValue:
    if not _service().status()["central_url"]:
        return _page(_("No central server is set: set central_url in learnhub.toml first."), 400)
    if runner().start(_service()):
        flash(_("Sync with central has started. Reload this page to see how it went."))
    else:
        flash(_("Sync with central is already running."))
    return redirect(url_for("sync_admin.index"), 303)


@bp.post("/confirm-key")
@require("operator")
def confirm_key() -> ResponseReturnValue:
    """The operator compared the fingerprint with central's: the kept key is confirmed."""
    try:
        shown = confirm(_service(), request.form.get("fingerprint", "")[:64])
    except SyncError as err:
        return _page(str(err), 400)
    flash(_("Central's key %(fingerprint)s is confirmed.", fingerprint=shown))
    return redirect(url_for("sync_admin.index"), 303)


def _chosen_folder() -> Path:
    # A folder typed by hand wins over the stick picked from the list.
    text = (request.form.get("other_folder", "") or request.form.get("folder", "")).strip()
    if not text or len(text) > MAX_PATH or "\x00" in text:
        raise SyncError(_("Choose the folder of the USB stick."))
    folder = Path(text)
    if not folder.is_absolute() or not folder.is_dir():
        raise SyncError(_("%(folder)s is not a folder on this hub.", folder=text))
    return folder


def _problem(err: Exception) -> str:
    if isinstance(err, OSError) and not isinstance(err, SyncError):
        return _("The stick could not be written or read: %(reason)s.", reason=err.strerror or err)
    return str(err)


def mounted_folders(roots: tuple[Path, ...] = MOUNT_ROOTS) -> list[Path]:
    """USB sticks the system mounted (/media/<user>/<label>, /media/<label>, /mnt/<x>)."""
    found: list[Path] = []
    for root in roots:
        try:
            entries = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for entry in entries:
            try:
                inner = sorted(p for p in entry.iterdir() if p.is_dir() and p.is_mount())
            except OSError:
                inner = []
            found += inner or ([entry] if entry.is_mount() else [])
    return found[:20]
