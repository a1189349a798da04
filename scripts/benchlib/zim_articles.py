"""A generated encyclopedia as a ZIM: ARTICLES articles with libzim's full-text and title
indexes, written from English words in their real frequencies (wordfreq, the `bench` extra),
so a search meets the long tail of a real vocabulary, not a few dozen words. Kept under the
bench cache (benchlib.school_data.cache_root) keyed by GENERATOR and the sizes below: bump
GENERATOR when a change here changes the file.

The queries and typing prefixes the loads send are drawn from the same words: one or two
title words, a body word, and the first letters of titles.

    .venv/bin/python scripts/benchlib/zim_articles.py   # on its own: writes it, prints where
"""

from __future__ import annotations

import hashlib
import html
import itertools
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":  # run on its own: make `benchlib` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from libzim.writer import Creator

from benchlib.context import BenchError
from benchlib.school_data import cache_root
from benchlib.zim import PNG_1X1, _stdout_to_stderr, html_article

ARTICLES = 20_000
VOCABULARY = 30_000  # the most frequent English words, drawn by their frequency
TITLE_WORDS = 3_000  # titles come from the less common nouns-and-names band
NAME = "encyclopedia_en"
SEED = 15
PARAGRAPHS = (3, 7)
SENTENCE_WORDS = (8, 22)
QUERIES = 2_000
GENERATOR = 1


@dataclass(frozen=True)
class Encyclopedia:
    path: Path
    articles: list[str]  # paths inside the ZIM
    queries: list[str]
    prefixes: list[str]


def ensure(say: Callable[[str], None] = print) -> Encyclopedia:
    """The ZIM (written now if the cache has none) and what the loads ask of it."""
    key = hashlib.sha256(f"{GENERATOR}/{VOCABULARY}/{TITLE_WORDS}/{SEED}".encode()).hexdigest()[:12]
    where = cache_root() / f"zim-{ARTICLES}-{key}" / f"{NAME}.zim"
    words, weights, titles = _vocabulary()
    if not where.exists():
        say(f"writing a {ARTICLES:,}-article ZIM with a full-text index: {where}")
        where.parent.mkdir(parents=True, exist_ok=True)
        write(where, words, weights, titles)
    return Encyclopedia(where, [_path(t) for t in titles], *_searches(titles, words))


def _vocabulary() -> tuple[list[str], list[float], list[str]]:
    """The words, their cumulative frequencies (random.choices' cum_weights: one bisect per
    word drawn) and the titles."""
    try:
        import wordfreq
    except ImportError:
        raise BenchError("wordfreq is not installed (pip install the `bench` extra)") from None
    words = [w for w in wordfreq.top_n_list("en", VOCABULARY) if w.isalpha()]
    weights = list(itertools.accumulate(wordfreq.word_frequency(w, "en") for w in words))
    rng = random.Random(SEED)
    band = [w for w in words[2_000:] if len(w) > 3][:TITLE_WORDS]
    titles: dict[str, None] = {}
    while len(titles) < ARTICLES:
        count = rng.choice((1, 2, 2, 3))
        titles[" ".join(rng.choice(band).capitalize() for _ in range(count))] = None
    return words, weights, list(titles)


def _path(title: str) -> str:
    return "A/" + title.replace(" ", "_")


def _searches(titles: list[str], words: list[str]) -> tuple[list[str], list[str]]:
    rng = random.Random(SEED + 1)
    common = words[200:8_000]
    queries = []
    for n in range(QUERIES):
        title_words = rng.choice(titles).lower().split()
        if n % 3 == 0:
            queries.append(rng.choice(common))
        elif n % 3 == 1:
            queries.append(" ".join(title_words[:2]))
        else:
            queries.append(f"{title_words[0]} {rng.choice(common)}")
    prefixes = [rng.choice(titles).lower()[: rng.randint(2, 6)] for _ in range(QUERIES)]
    return queries, prefixes


def write(where: Path, words: list[str], weights: list[float], titles: list[str]) -> None:
    rng = random.Random(SEED + 2)
    partial = where.with_name(where.name + ".partial")
    partial.unlink(missing_ok=True)
    with _stdout_to_stderr(), Creator(str(partial)).config_indexing(True, "eng") as creator:
        for key, value in {
            "Name": NAME,
            "Title": "Generated encyclopedia",
            "Language": "eng",
            "Creator": "learnhub bench",
            "Publisher": "learnhub bench",
            "Date": "2026-01-01",
            "Description": f"{ARTICLES:,} generated articles in English words",
        }.items():
            creator.add_metadata(key, value)
        creator.add_illustration(48, PNG_1X1)
        for at, title in enumerate(titles):
            links = [titles[(at + step) % len(titles)] for step in (1, 7, 31)]
            body = _page(rng, title, words, weights, links)
            creator.add_item(html_article(_path(title), title, body))
        creator.set_mainpath(_path(titles[0]))
    partial.rename(where)


def _page(
    rng: random.Random, title: str, words: list[str], weights: list[float], links: list[str]
) -> str:
    paragraphs = []
    for _ in range(rng.randint(*PARAGRAPHS)):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            drawn = rng.choices(words, cum_weights=weights, k=rng.randint(*SENTENCE_WORDS))
            sentences.append(" ".join(drawn).capitalize() + ".")
        paragraphs.append(f"<p>{html.escape(' '.join(sentences))}</p>")
    see = " ".join(f'<a href="{html.escape(_path(t)[2:])}">{html.escape(t)}</a>' for t in links)
    name = html.escape(title)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title></head>"
        f"<body><h1>{name}</h1><p><b>{name}</b> is a subject of this encyclopedia.</p>"
        f"{''.join(paragraphs)}<p>See also: {see}</p></body></html>"
    )


if __name__ == "__main__":
    found = ensure()
    print(found.path, found.path.stat().st_size)
