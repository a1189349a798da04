"""The hub's Flask subclass: plain views and hooks are called as they are; anything else is
left to Flask's own handling."""

from __future__ import annotations

import functools

import pytest
from flask import Flask


def test_plain_functions_are_called_as_they_are(app: Flask) -> None:
    def view() -> str:
        return "ok"

    assert app.ensure_sync(view) is view


def test_other_callables_get_flasks_own_handling(app: Flask) -> None:
    def view(word: str) -> str:
        return word

    bound = functools.partial(view, "ok")
    assert app.ensure_sync(bound) is bound

    async def coroutine() -> str:
        return "ok"

    # Flask runs a coroutine view only with its `async` extra, which the hub does not install:
    # the same refusal as Flask's, not a coroutine handed back unawaited.
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(coroutine)
