"""The school library, generated and imported once and kept between bench runs.

Generating 20,000 lessons and importing them (search indexing included) takes minutes, so
both are kept under ~/.cache/learnhub-bench (or $XDG_CACHE_HOME): the generated folders keyed
by the generator's source and the lesson count, the imported data dir keyed also by the hub's
code (hub/, content/, sync/, pyproject.toml and the hub's lock), so a change to either makes
a new one. Each run copies the imported data dir into its scratch directory, because serving
writes to it (the secret key, sessions, the event log).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchlib import school_library
from benchlib.context import Context
from benchlib.school_library import SchoolLibrary

PACKS = 10
CODE = ("hub", "content", "sync", "pyproject.toml", "requirements/hub.txt")


@dataclass
class Prepared:
    library: SchoolLibrary
    source: Path  # the generated folders (nginx serves them; the ZIM is made from them)
    data: Path  # this run's copy of the imported data dir
    built_seconds: float | None  # None: taken from the cache
    import_seconds: float | None


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "learnhub-bench"


def prepare(ctx: Context, lessons: int) -> Prepared:
    source, built = _library(ctx, lessons)
    library = _load(source)
    data, imported = _imported(ctx, source, library)
    copy = ctx.scratch / "school-data"
    ctx.say(f"copying the imported library to {copy}")
    shutil.rmtree(copy, ignore_errors=True)  # a section before this one served from it
    shutil.copytree(data, copy)
    return Prepared(library, source, copy, built, imported)


def _library(ctx: Context, lessons: int) -> tuple[Path, float | None]:
    generator = Path(school_library.__file__).read_bytes()
    key = _digest([generator, f"{lessons}/{PACKS}".encode()])
    where = cache_root() / f"school-{lessons}-{key}"
    if (where / "library.json").exists():
        ctx.say(f"school library of {lessons} lessons from the cache: {where}")
        return where, None
    ctx.say(f"generating a school library of {lessons} lessons in {PACKS} packs")
    began = time.perf_counter()
    partial = _fresh(where.with_name(where.name + ".partial"))
    built = school_library.build(partial / "packs", lessons=lessons, packs=PACKS)
    meta = asdict(built) | {"folders": [f.name for f in built.folders]}
    (partial / "library.json").write_text(json.dumps(meta), encoding="utf-8")
    _publish(partial, where)
    return where, time.perf_counter() - began


def _load(source: Path) -> SchoolLibrary:
    meta = json.loads((source / "library.json").read_text(encoding="utf-8"))
    meta["folders"] = [source / "packs" / name for name in meta["folders"]]
    return SchoolLibrary(**meta)


def _imported(ctx: Context, source: Path, library: SchoolLibrary) -> tuple[Path, float | None]:
    where = source / f"data-{code_version(ctx.root)}"
    if (where / "learnhub.db").exists():
        ctx.say(f"imported library from the cache: {where}")
        return where, None
    for stale in source.glob("data-*"):
        shutil.rmtree(stale, ignore_errors=True)  # made by older code: never used again
    partial = _fresh(source / "import.partial")
    ctx.say(f"importing {len(library.lesson_paths)} lessons with `learnhub content import`")
    began = time.perf_counter()
    folders = [str(f) for f in library.folders]
    ctx.learnhub_cli("content", "import", "--data", str(partial), *folders, timeout=3600)
    seconds = time.perf_counter() - began
    _publish(partial, where)
    return where, seconds


def code_version(root: Path) -> str:
    """A digest of the files that decide what an imported data dir looks like."""
    parts = []
    for name in CODE:
        top = root / name
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                parts += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return _digest(parts)


def _digest(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:16]


def _fresh(path: Path) -> Path:
    """An empty directory at `path` (what an interrupted run left there is removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _publish(partial: Path, final: Path) -> None:
    """Only a finished directory gets the name later runs look for."""
    try:
        partial.rename(final)
    except OSError:  # a bench running beside this one finished first: keep theirs
        shutil.rmtree(partial, ignore_errors=True)
