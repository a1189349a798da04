"""The hub's one error type: raised on purpose, with an HTTP status, a stable code and one
sentence for the person reading it. hub/web/errors.py turns it into a page or JSON; the CLI
prints the sentence."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import HTTPException


class HubError(HTTPException):
    """An error we raise on purpose: a status, a stable code, and one sentence."""

    code: int  # always set, unlike werkzeug's own (int | None)

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = status
        self.error_code = code
        self.description = message
        self.extra_headers = headers or {}

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), *self.extra_headers.items()]
