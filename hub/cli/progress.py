"""Progress of long work (imports, verify) on stderr, so stdout stays one line per outcome for
scripts: a bar on a terminal; elsewhere (systemd's journal, a log file) a plain line at each
tenth of the work, and only for work large enough to take a while."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

import click

from content.source import size_text
from hub.core.console import printable
from hub.core.translate import gettext

LINE_MIN_BYTES = 16 * 1024**2  # smaller work ends before a line would help anyone
STEPS = 10  # lines per piece of work off a terminal


class ProgressReport:
    """`report(name, done, total)` as work goes on; `label(name)` says what is being done."""

    def __init__(self, label: Callable[[str], str], *, terminal: bool | None = None) -> None:
        self._label = label
        self._terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar: Any = None
        self._name: str | None = None
        self._done = 0
        self._step = 0

    def __enter__(self) -> ProgressReport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def report(self, name: str, done: int, total: int) -> None:
        if name != self._name:
            self._close()
            self._name, self._done, self._step = name, 0, 0
        if self._terminal:
            self._advance_bar(name, done, total)
        elif total >= LINE_MIN_BYTES:
            self._line(name, done, total)

    def _advance_bar(self, name: str, done: int, total: int) -> None:
        if self._bar is None:
            label = self._label(printable(name))
            self._bar = click.progressbar(
                length=max(total, 1), label=label, file=sys.stderr, show_eta=True
            )
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def _line(self, name: str, done: int, total: int) -> None:
        step = done * STEPS // total
        if step <= self._step:
            return
        self._step = step
        click.echo(
            gettext(
                "%(work)s: %(percent)d%% (%(done)s of %(total)s)",
                work=self._label(printable(name)),
                percent=step * 100 // STEPS,
                done=size_text(done),
                total=size_text(total),
            ),
            err=True,
        )

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
