"""User names made from display names: one rule for the hub's learners and staff and for
central's staff, so a name in any script gives the same user name everywhere."""

from __future__ import annotations

import re
import unicodedata

MAX_USERNAME = 40


def username_of(name: str) -> str:
    """ "Amina Juma" -> "amina-juma", "Élodie" -> "elodie"; names in other scripts keep their
    letters ("أمينة" stays "أمينة", "张伟" stays "张伟"). "" when nothing usable is left."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFKC", letters)
    return re.sub(r"[\W_]+", "-", folded).strip("-")[:MAX_USERNAME]
