"""`learnhub`: the command line. Errors are one sentence on stderr and exit status 1."""

from __future__ import annotations

import errno
import json
import logging
import sys
from pathlib import Path

import click
import waitress
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer

from hub import __version__
from hub.app import create_app
from hub.cli_common import config_for, data_option, friendly_errors, open_library
from hub.cli_people import learners, progress, users
from hub.library import Outcome
from hub.models import Pack, PackFile
from hub.search.cli import search
from hub.settings import Config

log = logging.getLogger("learnhub")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="learnhub")
def main() -> None:
    """Learning Hub: an offline-first learning server."""


@main.command()
@data_option
@click.option("--host", default=None, help="Address to listen on (default 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
@click.option("--threads", type=int, default=None, help="Worker threads (default 4).")
@friendly_errors
def serve(data_dir: Path | None, host: str | None, port: int | None, threads: int | None) -> None:
    """Serve the hub; the first run creates the data dir and loads the sample library."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # waitress warns on every queued request under load: thousands of lines on an SD card.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    config = config_for(data_dir, host=host, port=port, threads=threads)
    app = create_app(config)
    server = _bind(app, config)
    log.info(
        "Learning Hub is serving %s on http://%s:%s/", config.data_dir, config.host, config.port
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _bind(app: Flask, config: Config) -> BaseWSGIServer | MultiSocketServer:
    where = f"Port {config.port} on {config.host}"
    try:
        return waitress.create_server(
            app, host=config.host, port=config.port, threads=config.threads, ident="learnhub"
        )
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"{where} is already in use; choose another with --port."
            ) from None
        if err.errno == errno.EACCES:
            raise click.ClickException(
                f"{where} needs more privileges (ports below 1024 need root or "
                "CAP_NET_BIND_SERVICE); choose another with --port."
            ) from None
        raise click.ClickException(f"{where} cannot be used: {err.strerror}.") from None


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
        click.echo(_describe(outcome), err=outcome.error is not None)
    failed = sum(1 for o in outcomes if o.error)
    if failed:
        raise click.ClickException(
            f"{failed} of {len(outcomes)} pack(s) were refused; "
            "they changed nothing in the library."
        )


def _describe(outcome: Outcome) -> str:
    if outcome.error:
        where = "" if str(outcome.path) in outcome.error else f" {outcome.path}"
        return f"refused{where}: {outcome.error}"
    result = outcome.result
    assert result is not None
    if result.action == "unchanged":
        return f"unchanged {result.pack_id} {result.version} (already installed)"
    if result.action == "upgraded":
        return f"upgraded {result.pack_id} {result.previous_version} -> {result.version}"
    return f"installed {result.pack_id} {result.version} ({result.lessons} lessons)"


@content.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@friendly_errors
def content_list(data_dir: Path | None, as_json: bool) -> None:
    """List the installed packs."""
    with open_library(data_dir):
        counts = Pack.lesson_counts()
        rows = [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "language": p.language,
                "lessons": counts.get(p.id, 0),
                "size": p.size,
            }
            for p in Pack.ordered()
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("The library is empty.")
    for row in rows:
        click.echo(
            f"{row['id']}  {row['version']}  {row['language']}  "
            f"{row['lessons']} lessons  {row['title']}"
        )


@content.command("remove")
@data_option
@click.argument("pack_id")
@friendly_errors
def content_remove(data_dir: Path | None, pack_id: str) -> None:
    """Remove a pack and the files no other pack uses."""
    with open_library(data_dir) as library:
        deleted = library.remove(pack_id)
    click.echo(f"removed {pack_id} ({deleted} files no longer needed were deleted)")


@content.command("verify")
@data_option
@friendly_errors
def content_verify(data_dir: Path | None) -> None:
    """Re-hash every file of the library and report damage."""
    with open_library(data_dir) as library:
        damage = library.verify()
        total = PackFile.select().count()
    for item in damage:
        lessons = ", ".join(item.lessons) or "no lesson"
        click.echo(
            f"damaged {item.pack_id}/{item.path} ({item.problem}); lessons: {lessons}", err=True
        )
    if damage:
        raise click.ClickException(
            f"{len(damage)} file(s) are damaged; import those packs again to repair them."
        )
    click.echo(f"all {total} files are intact")


for group in (users, learners, progress, search):
    main.add_command(group)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
