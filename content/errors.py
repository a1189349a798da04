"""Errors raised when a pack or a file inside it is refused."""


class PackError(Exception):
    """A pack (or a file in it) is refused. str(err) is one sentence for an operator."""


class PackProblems(PackError):
    """Everything found wrong with a pack at once. str(err) is the first problem and how many
    more there are; `problems` holds every one, each a sentence."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        first, more = problems[0], len(problems) - 1
        if more:
            stop = "." if first.endswith(".") else ""
            first = f"{first.rstrip('.')} (and {more} more problem{'s' if more > 1 else ''}){stop}"
        super().__init__(first)
