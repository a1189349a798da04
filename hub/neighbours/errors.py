"""The two ways copying from a neighbour hub fails, each with one sentence to show."""

from __future__ import annotations

from content.errors import PackError


class NeighbourError(PackError):
    """A neighbour hub answered wrongly or a pack it offers was refused; one sentence."""


class NeighbourUnreachable(NeighbourError):
    """The network failed (refused, timed out, cut mid-file): what was downloaded is kept,
    and running the copy again resumes it."""
