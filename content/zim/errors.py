"""The one error this package raises."""


class ZimError(Exception):
    """A ZIM file is refused or cannot be read. str(err) is one sentence for an operator."""


def libzim_reason(err: BaseException) -> str:
    """libzim's own words for what is wrong, on one line and without a trailing stop (some of
    its messages list the offending entries on the lines after the first)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.rstrip(" .:")
