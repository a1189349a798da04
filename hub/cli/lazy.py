"""Command groups whose commands are imported only when one is asked for: a command that
imported every other's (the web app, the server, network discovery) took 0.9 s to start, and
`learnhub content import` spent a tenth of a 2 GB folder's import on it."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, cast

import click


class LazyGroup(click.Group):
    """`lazy` maps a command's name to "module:attribute", imported when the command runs
    (or when --help lists the group's commands)."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, name = self.lazy[cmd_name].split(":")
        return cast(click.Command, getattr(importlib.import_module(module), name))
