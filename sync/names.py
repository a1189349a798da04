"""User names made from display names: one rule for the hub's learners and staff and for
central's staff, so a name in any script gives the same user name everywhere."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MAX_USERNAME = 40


def find_by_name(typed: str, lookup: Callable[[str], T | None]) -> T | None:
    """The account a typed user name means, on the hub and at central alike: the one named by
    the rule ("Amina Juma" finds amina-juma), else the one named as typed, trimmed and in
    lower case (an account named before the rule)."""
    for name in dict.fromkeys((username_of(typed), typed.strip().lower())):
        found = lookup(name) if name else None
        if found is not None:
            return found
    return None


def username_of(name: str) -> str:
    """ "Amina Juma" -> "amina-juma", "Élodie" -> "elodie"; names in other scripts keep their
    letters ("أمينة" stays "أمينة", "张伟" stays "张伟"). "" when nothing usable is left."""
    letters = "".join(_plain(c) for c in name.casefold())
    folded = unicodedata.normalize("NFKC", letters)
    return re.sub(r"[\W_]+", "-", folded).strip("-")[:MAX_USERNAME]


def _plain(char: str) -> str:
    """A Latin letter without its accents; any other character as it is (in Arabic, say, the
    hamza of "أ" is part of the letter, not an accent to drop)."""
    if not unicodedata.name(char, "").startswith("LATIN"):
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
