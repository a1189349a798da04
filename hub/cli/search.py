"""`learnhub search rebuild`: the search index on demand (hub.cli.main loads the `search` group)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from hub.cli.common import data_option, friendly_errors, open_hub
from hub.core.translate import ngettext
from hub.library.packs import Library
from hub.search.service import SearchService


@click.group()
def search() -> None:
    """Rebuild the search index."""


@search.command("rebuild")
@data_option
@friendly_errors
def rebuild(data_dir: Path | None) -> None:
    """Rebuild the search index from the library (a running hub keeps answering)."""
    started = time.perf_counter()
    with open_hub(data_dir) as config:
        count = SearchService(config, Library(config), background=False).rebuild()
    elapsed = time.perf_counter() - started
    # Translators: English says this the same way for every number.
    line = ngettext(
        "search index rebuilt: %(num)d lessons in %(seconds)s s",
        "search index rebuilt: %(num)d lessons in %(seconds)s s",
        count,
        seconds=f"{elapsed:.1f}",
    )
    click.echo(line)
