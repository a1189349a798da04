"""`learnhub`: the command line. Errors are one sentence on stderr and exit status 1."""

from __future__ import annotations

import errno
import logging
import signal
import sys
from pathlib import Path

import click
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer

from hub import __version__
from hub.central.cli import central
from hub.cli.common import (
    config_for,
    data_option,
    echo,
    friendly_errors,
    open_library,
    prepare_data_dir,
)
from hub.cli.neighbours import discover, fetch
from hub.cli.people import learners, progress, users
from hub.cli.search import search
from hub.cli.sync import sync
from hub.core import allocator, systemd
from hub.core.console import printable_json
from hub.core.settings import Config
from hub.core.translate import gettext, ngettext
from hub.hubsync.background import start_background
from hub.library.models import Pack, PackFile
from hub.library.packs import Outcome
from hub.library.responses import pack_json
from hub.neighbours.discovery import start_advertiser
from hub.people import roster
from hub.web.app import create_app
from hub.web.server import Guard, create_server
from hub.web.views.admin import UPLOAD_SLACK

log = logging.getLogger("learnhub")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="learnhub")
def main() -> None:
    """Learning Hub: an offline-first learning server."""


@main.command()
@data_option
@click.option("--host", default=None, help="Address to listen on (default 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
@click.option("--threads", type=int, default=None, help="Worker threads (default 8).")
@friendly_errors
def serve(data_dir: Path | None, host: str | None, port: int | None, threads: int | None) -> None:
    """Serve the hub; the first run creates the data dir and loads the sample library."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # waitress warns on every queued request under load: thousands of lines on an SD card.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    allocator.tune()  # before any thread starts
    config = config_for(data_dir, host=host, port=port, threads=threads)
    app = create_app(prepare_data_dir(config))
    server = _bind(app, config)
    advertiser = start_advertiser(app)  # None when the `advertise` setting is off
    syncer = start_background(app.extensions["sync"])  # None when central_url is not set
    log.info(
        "Learning Hub is serving %s on http://%s:%s/", config.data_dir, config.host, config.port
    )
    # systemd stops the hub with SIGTERM: leave the way Ctrl-C does, so the finally runs and
    # the hub withdraws its announcement from the network.
    signal.signal(signal.SIGTERM, _interrupt)
    systemd.notify_ready(f"serving on port {config.port}")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        systemd.notify_stopping()
        if advertiser is not None:
            advertiser.stop()
        if syncer is not None:
            syncer.stop()
        server.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _body_routes() -> dict[str, int]:
    """Routes that take a larger body than the `max_body_bytes` setting: the server refuses
    anything bigger before reading it."""
    return {"/admin/import": roster.MAX_CSV_BYTES + UPLOAD_SLACK}


def _bind(app: Flask, config: Config) -> BaseWSGIServer | MultiSocketServer:
    where = {"port": config.port, "host": config.host}
    try:
        return create_server(
            app,
            host=config.host,
            port=config.port,
            threads=config.threads,
            ident="learnhub",
            guard=Guard.from_config(config, _body_routes()),
        )
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise click.ClickException(
                gettext(
                    "Port %(port)d on %(host)s is already in use; choose another with --port.",
                    **where,
                )
            ) from None
        if err.errno == errno.EACCES:
            raise click.ClickException(
                gettext(
                    "Port %(port)d on %(host)s needs more privileges (ports below 1024 need root "
                    "or CAP_NET_BIND_SERVICE); choose another with --port.",
                    **where,
                )
            ) from None
        raise click.ClickException(
            gettext(
                "Port %(port)d on %(host)s cannot be used: %(reason)s.",
                reason=err.strerror,
                **where,
            )
        ) from None


@main.group()
def content() -> None:
    """Import, list, remove and verify content packs."""


@content.command("import")
@data_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@friendly_errors
def content_import(data_dir: Path | None, paths: tuple[Path, ...]) -> None:
    """Import packs: a pack folder, a .zip pack, or a folder (USB stick) holding many."""
    with open_library(data_dir) as library:
        outcomes = library.import_paths(list(paths))
    for outcome in outcomes:
        echo(_describe(outcome), err=outcome.error is not None)
    failed = sum(1 for o in outcomes if o.error)
    if failed:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(failed)d of %(num)d pack(s) were refused; they changed nothing in the library.",
                "%(failed)d of %(num)d pack(s) were refused; they changed nothing in the library.",
                len(outcomes),
                failed=failed,
            )
        )


def _describe(outcome: Outcome) -> str:
    if outcome.error:
        if str(outcome.path) in outcome.error:
            return gettext("refused: %(error)s", error=outcome.error)
        return gettext("refused %(path)s: %(error)s", path=outcome.path, error=outcome.error)
    result = outcome.result
    assert result is not None
    if result.action == "unchanged":
        return gettext(
            "unchanged %(pack)s %(version)s (already installed)",
            pack=result.pack_id,
            version=result.version,
        )
    if result.action == "upgraded":
        return gettext(
            "upgraded %(pack)s %(previous)s -> %(version)s",
            pack=result.pack_id,
            previous=result.previous_version,
            version=result.version,
        )
    # Translators: English says this the same way for every number.
    return ngettext(
        "installed %(pack)s %(version)s (%(num)d lessons)",
        "installed %(pack)s %(version)s (%(num)d lessons)",
        result.lessons,
        pack=result.pack_id,
        version=result.version,
    )


@content.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@friendly_errors
def content_list(data_dir: Path | None, as_json: bool) -> None:
    """List the installed packs."""
    with open_library(data_dir):
        counts = Pack.lesson_counts()
        fields = ("id", "version", "title", "language", "lessons", "size")
        rows = [pack_json(p, counts.get(p.id, 0), fields) for p in Pack.ordered()]
    if as_json:
        click.echo(printable_json(rows))
        return
    if not rows:
        echo(gettext("The library is empty."))
    for row in rows:
        # Translators: English says this the same way for every number.
        lessons = ngettext("%(num)d lessons", "%(num)d lessons", row["lessons"])
        echo(f"{row['id']}  {row['version']}  {row['language']}  {lessons}  {row['title']}")


@content.command("remove")
@data_option
@click.argument("pack_id")
@friendly_errors
def content_remove(data_dir: Path | None, pack_id: str) -> None:
    """Remove a pack and the files no other pack uses."""
    with open_library(data_dir) as library:
        deleted = library.remove(pack_id)
    echo(
        # Translators: English says this the same way for every number.
        ngettext(
            "removed %(pack)s (%(num)d files no longer needed were deleted)",
            "removed %(pack)s (%(num)d files no longer needed were deleted)",
            deleted,
            pack=pack_id,
        )
    )


@content.command("verify")
@data_option
@friendly_errors
def content_verify(data_dir: Path | None) -> None:
    """Re-hash every file of the library and report damage."""
    with open_library(data_dir) as library:
        damage = library.verify()
        total = PackFile.select().count()
    for item in damage:
        lessons = ", ".join(item.lessons) or gettext("no lesson")
        line = gettext(
            "damaged %(pack)s/%(path)s (%(problem)s); lessons: %(lessons)s",
            pack=item.pack_id,
            path=item.path,
            problem=item.problem,
            lessons=lessons,
        )
        echo(line, err=True)
    if damage:
        raise click.ClickException(
            # Translators: English says this the same way for every number.
            ngettext(
                "%(num)d file(s) are damaged; import those packs again to repair them.",
                "%(num)d file(s) are damaged; import those packs again to repair them.",
                len(damage),
            )
        )
    # Translators: English says this the same way for every number.
    echo(ngettext("all %(num)d files are intact", "all %(num)d files are intact", total))


for group in (users, learners, progress, discover, search, sync, central):
    main.add_command(group)
content.add_command(fetch)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
