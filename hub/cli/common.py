"""What every `learnhub` command shares: the --data option, one-sentence errors, a ready
data dir. Command groups live in their own modules and hub.cli.main assembles them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from content.errors import PackError
from content.zim import ZimError
from hub.core.console import printable
from hub.core.datadir import prepare, samples_dir
from hub.core.db import db
from hub.core.settings import Config, SettingsError, load_config
from hub.core.translate import gettext
from hub.hubsync.service import SyncService
from hub.library.packs import Library
from hub.search.service import attach as attach_search
from sync.identity import IdentityError
from sync.migrate import SchemaTooNew

log = logging.getLogger(__name__)

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $LEARNHUB_DATA, else ~/.local/share/learnhub).",
)

# Errors whose message is already the one sentence a user should read.
USER_ERRORS: tuple[type[Exception], ...] = (
    SettingsError,
    PackError,
    ZimError,
    IdentityError,
    SchemaTooNew,
)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one sentence instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as err:
            raise click.ClickException(printable(err)) from None
        except PermissionError as err:
            raise click.ClickException(
                gettext("Permission denied: %(path)s.", path=err.filename)
            ) from None
        except OSError as err:
            raise click.ClickException(
                printable(f"{err.strerror or err}: {err.filename or ''}".strip())
            ) from None

    return wrapper


def echo(line: str, *, err: bool = False) -> None:
    """Print one line that may hold outside text (a neighbour's or a pack's names, a
    server's words): its control characters are shown escaped, never obeyed (hub.core.console)."""
    click.echo(printable(line), err=err)


def config_for(data_dir: Path | None, **overrides: Any) -> Config:
    return load_config(data_dir, overrides)


def prepare_data_dir(config: Config) -> Config:
    """Make a data dir ready to serve; `learnhub serve` runs it before create_app, which only
    wires an app over it. The dir, keys and schema (hub.core.datadir.prepare); a new sync
    epoch when the database was restored from a copy; what a crash left swept away; the
    sample library in an empty hub. Returns `config`: `create_app(prepare_data_dir(config))`.
    The search index is not rebuilt here: the app's search service catches up in the
    background, so a hub with a large library starts serving at once after a crash."""
    keys = prepare(config)
    library = Library(config)
    # Before any event is recorded: a database restored from a copy starts a new sync epoch.
    SyncService(config, keys, library).ensure_epoch()
    with db.connection_context():
        library.sweep()
        if config.load_samples and library.is_empty():
            search = attach_search(library, config)  # the samples are indexed as they arrive
            try:
                for outcome in library.import_paths([samples_dir()]):
                    if outcome.error:
                        log.warning(
                            "sample pack %s not loaded: %s", outcome.path.name, outcome.error
                        )
            finally:
                search.index.close()  # the app opens its own
    return config


@contextmanager
def open_hub(data_dir: Path | None) -> Iterator[Config]:
    """A prepared data dir with the database connected, for commands that run without a server."""
    config = config_for(data_dir)
    prepare(config)
    with db.connection_context():
        yield config


@contextmanager
def open_library(data_dir: Path | None) -> Iterator[Library]:
    with open_hub(data_dir) as config:
        library = Library(config)
        attach_search(library, config)  # imports and removals update the search index
        yield library
