"""What every `learnhub` command shares: the --data option, one-sentence errors, a ready
data dir. Command groups live in their own modules and hub.cli.main assembles them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from content.errors import PackError
from hub.core.console import printable
from hub.core.datadir import prepare
from hub.core.db import db
from hub.core.settings import Config, SettingsError, load_config
from hub.core.translate import gettext
from hub.library.packs import Library
from hub.search.service import attach as attach_search
from sync.identity import IdentityError

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $LEARNHUB_DATA, else ~/.local/share/learnhub).",
)

# Errors whose message is already the one sentence a user should read.
USER_ERRORS: tuple[type[Exception], ...] = (SettingsError, PackError, IdentityError)


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
