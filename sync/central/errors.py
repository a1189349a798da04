"""The one error type central raises on purpose."""

from __future__ import annotations


class CentralError(ValueError):
    """A request central refuses (unknown hub, bad database URL, ...); str() is one sentence.
    `status` is the HTTP status the web face answers with."""

    def __init__(self, message: str, status: int = 400, code: str = "refused") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
