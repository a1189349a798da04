"""`learnhub`: the command line. Errors are one sentence on stderr and exit status 1."""

from __future__ import annotations

import sys

import click

from hub import __version__
from hub.cli.lazy import LazyGroup

COMMANDS = {
    "serve": "hub.cli.serve:serve",
    "content": "hub.cli.content:content",
    "search": "hub.cli.search:search",
    "users": "hub.cli.people:users",
    "learners": "hub.cli.people:learners",
    "progress": "hub.cli.people:progress",
    "discover": "hub.cli.neighbours:discover",
    "sync": "hub.cli.sync:sync",
    "central": "hub.central.cli:central",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="learnhub")
def main() -> None:
    """Learning Hub: an offline-first learning server."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
