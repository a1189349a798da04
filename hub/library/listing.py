"""How the library is arranged for a reader: their languages first."""

from __future__ import annotations

from dataclasses import dataclass

from hub.library.cache import library_cache
from hub.library.models import Pack


@dataclass(frozen=True)
class LanguageGroup:
    language: str
    packs: list[Pack]


def group_by_language(packs: list[Pack], preferred: list[str]) -> list[LanguageGroup]:
    """Packs grouped by language: the reader's languages in their order, then the rest A-Z."""
    groups: dict[str, list[Pack]] = {}
    for pack in packs:
        groups.setdefault(pack.language, []).append(pack)

    def rank(language: str) -> tuple[int, str]:
        primary = language.split("-")[0].lower()
        order = preferred.index(primary) if primary in preferred else len(preferred)
        return order, language

    return [LanguageGroup(lang, groups[lang]) for lang in sorted(groups, key=rank)]


def library_listing() -> tuple[list[Pack], dict[str, int]]:
    """Every pack in order, and each pack's lesson count (cached until the library changes)."""
    return library_cache.get("listing", lambda: (Pack.ordered(), Pack.lesson_counts()))


def subjects_of(packs: list[Pack]) -> list[str]:
    return sorted({subject for pack in packs for subject in pack.subjects})
