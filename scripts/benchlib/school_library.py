"""A realistic school library for the bench: 20,000 article lessons in 10 packs, written as
ordinary pack folders, plus a pack with a 1 MiB and a 48 MiB video, and the searches a class
would type.

Lesson text is drawn from the 30,000 most frequent English words with their real frequencies
(wordfreq), so the index has a real vocabulary and real posting-list lengths; every lesson's
title carries a few topical words of its own, so searches find a handful of lessons, not all of
them. Everything is seeded: two runs build the same library.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

from wordfreq import top_n_list, word_frequency

VOCABULARY = 30_000
WORDS_PER_LESSON = 300
TITLE_WORDS = 3
LESSONS_PER_TOPIC = 100
SUBJECTS = ("mathematics", "science", "reading", "history", "geography", "health")
VIDEO_SIZES = {"short-video": 1024**2, "long-video": 48 * 1024**2}


@dataclass
class SchoolLibrary:
    folders: list[Path]  # pack folders, for `learnhub content import`
    lesson_paths: list[str]  # /lessons/<pack>/<lesson> of every article
    video_paths: dict[str, str]  # name -> /lessons/... of each video lesson
    queries: list[str]  # one word, two words and misspelt words
    prefixes: list[str]  # what search-as-you-type sends while a word is typed


def build(where: Path, lessons: int = 20_000, packs: int = 10, seed: int = 1) -> SchoolLibrary:
    rng = random.Random(seed)
    words = [w for w in top_n_list("en", VOCABULARY) if w.isalpha()]
    weights = list(itertools.accumulate(word_frequency(w, "en") for w in words))
    # Topical words are the less common half: they make titles and queries specific.
    topical = words[len(words) // 10 :]
    paths, titles = [], []
    folders = []
    per_pack = lessons // packs
    for number in range(packs):
        pack_id = f"school-{number:02d}"
        folder = where / pack_id
        made = _write_pack(folder, pack_id, number, per_pack, rng, words, weights, topical)
        folders.append(folder)
        paths += [f"/lessons/{pack_id}/{lesson_id}" for lesson_id, _ in made]
        titles += [title for _, title in made]
    folders.append(_write_videos(where / "school-media", rng))
    videos = {name: f"/lessons/school-media/{name}" for name in VIDEO_SIZES}
    queries, prefixes = _searches(rng, titles, topical)
    return SchoolLibrary(folders, paths, videos, queries, prefixes)


def _write_pack(
    folder: Path,
    pack_id: str,
    number: int,
    count: int,
    rng: random.Random,
    words: list[str],
    weights: list[float],
    topical: list[str],
) -> list[tuple[str, str]]:
    folder.mkdir(parents=True)
    made, entries = [], []
    for n in range(count):
        lesson_id = f"lesson-{n:05d}"
        title = " ".join(rng.sample(topical, TITLE_WORDS)).capitalize()
        body = rng.choices(words, cum_weights=weights, k=WORDS_PER_LESSON)
        html = _article(title, body)
        (folder / f"{lesson_id}.html").write_text(html, encoding="utf-8")
        entries.append(
            {"id": lesson_id, "title": title, "kind": "article", "file": f"{lesson_id}.html"}
        )
        made.append((lesson_id, title))
    topics = [
        {"id": f"unit-{t:03d}", "title": f"Unit {t + 1}", "lessons": [e["id"] for e in chunk]}
        for t, chunk in enumerate(_chunks(entries, LESSONS_PER_TOPIC))
    ]
    manifest = {
        "format": "learnhub-pack/1",
        "id": pack_id,
        "version": "1.0.0",
        "title": f"School library {number + 1}",
        "description": "Generated for the bench.",
        "language": "en",
        "subjects": [SUBJECTS[number % len(SUBJECTS)]],
        "grades": [str(4 + number % 4)],
        "license": "CC0-1.0",
        "topics": topics,
        "lessons": entries,
    }
    (folder / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    return made


def _article(title: str, body: list[str]) -> str:
    paragraphs = (" ".join(chunk).capitalize() + "." for chunk in _chunks(body, 60))
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{text}</body></html>"
    )


def _write_videos(folder: Path, rng: random.Random) -> Path:
    folder.mkdir(parents=True)
    entries = []
    for name, size in VIDEO_SIZES.items():
        with open(folder / f"{name}.mp4", "wb") as out:
            for start in range(0, size, 1024**2):
                out.write(rng.randbytes(min(1024**2, size - start)))
        entries.append({"id": name, "title": name, "kind": "video", "file": f"{name}.mp4"})
    manifest = {
        "format": "learnhub-pack/1",
        "id": "school-media",
        "version": "1.0.0",
        "title": "School videos",
        "language": "en",
        "license": "CC0-1.0",
        "lessons": entries,
    }
    (folder / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _searches(
    rng: random.Random, titles: list[str], topical: list[str], count: int = 300
) -> tuple[list[str], list[str]]:
    """A third one word, a third two words of one title, a third misspelt words."""
    queries = []
    for n in range(count):
        title_words = rng.choice(titles).lower().split()
        if n % 3 == 0:
            queries.append(rng.choice(title_words))
        elif n % 3 == 1:
            queries.append(" ".join(rng.sample(title_words, 2)))
        else:
            queries.append(
                _misspelt(rng, rng.choice([w for w in title_words if len(w) > 4] or title_words))
            )
    prefixes = []
    while len(prefixes) < count:
        word = rng.choice(topical)
        prefixes += [word[:n] for n in range(2, len(word) + 1)]
    return queries, prefixes[:count]


def _misspelt(rng: random.Random, word: str) -> str:
    """One typo: two letters swapped, one dropped or one doubled."""
    at = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
    typo = rng.randrange(3)
    if typo == 0 and len(word) > 2:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if typo == 1 and len(word) > 3:
        return word[:at] + word[at + 1 :]
    return word[:at] + word[at] + word[at:]


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]
