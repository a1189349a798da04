"""Errors raised when a pack or a file inside it is refused."""


class PackError(Exception):
    """A pack (or a file in it) is refused. str(err) is one sentence for an operator."""
