"""Progress of ZIM copies and checks on a terminal (stderr, so stdout stays one line per
outcome; nothing when stderr is not a terminal): a bar while the bytes are copied and
checksummed, then a line while libzim checks the structure."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import click

from hub.core.console import printable
from hub.core.translate import gettext


class ZimProgressBars:
    def __init__(self) -> None:
        self._bar: Any = None
        self._name = ""
        self._done = 0

    def __enter__(self) -> ZimProgressBars:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def report(self, name: str, phase: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():  # a script or the USB service reads the outcome lines only
            return
        if phase == "copy":
            if self._bar is None or name != self._name:
                self._close()
                label = gettext("Checking %(name)s", name=printable(name))
                self._bar = click.progressbar(
                    length=max(total, 1), label=label, file=sys.stderr, show_eta=True
                )
                self._bar.__enter__()
                self._name, self._done = name, 0
            self._bar.update(done - self._done)
            self._done = done
        elif phase == "structure" and done == 0:
            self._close()
            click.echo(
                gettext("Checking the structure of %(name)s...", name=printable(name)),
                err=True,
            )

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
