"""`learnhub serve`: the hub's web server, its announcement on the network and its sync."""

from __future__ import annotations

import errno
import logging
import signal
from pathlib import Path

import click
from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer

from content.zim import decompress_on
from hub.cli.common import config_for, data_option, friendly_errors, prepare_data_dir
from hub.core import affinity, allocator, collector, systemd
from hub.core.settings import Config
from hub.core.translate import gettext
from hub.hubsync.background import start_background
from hub.neighbours.discovery import start_advertiser
from hub.people import roster
from hub.web.app import create_app
from hub.web.server import Guard, create_server
from hub.web.views import authoring_common, letters
from hub.web.views.admin import UPLOAD_SLACK

log = logging.getLogger("learnhub")


@click.command()
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
    allocator.tune()  # before any thread starts
    config = config_for(data_dir, host=host, port=port, threads=threads)
    if config.one_cpu:
        # Before any thread starts: they run where this one does, and decompress elsewhere.
        others = affinity.keep_to_one_cpu()
        if others:
            decompress_on(others)
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
    collector.settle()  # what starting made is kept for good: full collections skip it
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


def _body_routes(config: Config) -> dict[str, int]:
    """Routes that take a larger body than the `max_body_bytes` setting: the server refuses
    anything bigger before reading it."""
    return {
        "/admin/import": roster.MAX_CSV_BYTES + UPLOAD_SLACK,
        **authoring_common.body_routes(config),
        "/letters/": letters.FORM_LIMIT,
    }


def _bind(app: Flask, config: Config) -> BaseWSGIServer | MultiSocketServer:
    where = {"port": config.port, "host": config.host}
    try:
        return create_server(
            app,
            host=config.host,
            port=config.port,
            threads=config.threads,
            ident="learnhub",
            guard=Guard.from_config(config, _body_routes(config)),
            find=app.wsgi_app.kept_answer,  # type: ignore[attr-defined]
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
