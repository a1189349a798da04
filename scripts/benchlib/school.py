"""Section "school": the hub as a school uses it. A generated library of 20,000 article
lessons in 10 packs (`--lessons` for a quicker run), a 1 MiB and a 48 MiB video, served by
the installed hub with its default settings; 32 connections kept busy with random lesson
pages, random searches and search-as-you-type prefixes (wrk when it is installed). Memory is
read when idle, after each load and at its peak. Then nginx and kiwix-serve, where installed,
on the same lessons (benchlib.school_rivals).

Budgets (printed, never asserted): RSS idle < 80 MB, after every load < 150 MB, peak
< 200 MB; random lesson pages >= 600 req/s with p95 < 100 ms; random searches >= 250 req/s
with p95 < 150 ms; suggestions p95 < 30 ms; the 1 MiB file at >= 1/3 of nginx's bytes/s;
restart with the library to the first 200 in < 1 s.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from urllib.parse import quote_plus

from benchlib import school_data, school_rivals
from benchlib.context import BenchError, Context
from benchlib.pathload import Driver
from benchlib.report import MB, SectionResult, info, under
from benchlib.rss import MemoryLog
from benchlib.school_data import Prepared
from benchlib.school_library import SchoolLibrary
from benchlib.school_rows import load_rows, mb
from benchlib.serve import BROWSER
from benchlib.server import HubServer, ServerError
from benchlib.wrk import Numbers, Target

RSS_IDLE = 80 * MB
RSS_AFTER = 150 * MB
RSS_PEAK = 200 * MB
RESTART_BUDGET = 1.0
IDLE_SETTLE = 1.0  # seconds after the first 200 before idle memory is read
# What a browser's fetch() sends for the suggestions' JSON.
FETCH = (("Accept-Encoding", "gzip, deflate"), ("Accept", "application/json"))
BUDGETS = {
    "lessons": {"floor": 600, "p95_ceiling": 0.100},
    "search": {"floor": 250, "p95_ceiling": 0.150},
    "suggest": {"p95_ceiling": 0.030},
    "file": {"megabytes": True},
}


def run(ctx: Context) -> SectionResult:
    result = SectionResult("school")
    try:
        prepared = school_data.prepare(ctx, ctx.lessons)
        library_rows(prepared, result)
        driver = Driver.choose(ctx)
        result.add(info(f"load driver, {ctx.duration:g} s per load", None, driver.name))
        hub = _hub(ctx, driver, prepared, result)
        school_rivals.measure(ctx, driver, prepared, hub, result)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def library_rows(prepared: Prepared, result: SectionResult) -> None:
    count = len(prepared.library.lesson_paths)
    packs = len(prepared.library.folders) - 1  # less the videos' pack
    shown = f"{count} lessons in {packs} packs, 1 MiB + 48 MiB videos"
    result.add(info("library", count, shown))
    for label, seconds in (
        ("generated", prepared.built_seconds),
        ("imported", prepared.import_seconds),
    ):
        value = "from the cache" if seconds is None else f"{seconds:.0f} s"
        result.add(info(f"  {label}", seconds, value))


def search_paths(library: SchoolLibrary) -> list[str]:
    return [f"/search?q={quote_plus(q)}" for q in library.queries]


def fresh_search_paths(library: SchoolLibrary, count: int = 20_000) -> list[str]:
    """Two-word searches made from the queries' words, so that almost none repeats in a run:
    what a search costs when no answer is kept (the hub keeps answers a class repeats)."""
    words = sorted({word for q in library.queries for word in q.split()})
    rng = random.Random(12)
    pairs = {" ".join(rng.sample(words, 2)) for _ in range(count)}
    return [f"/search?q={quote_plus(q)}" for q in sorted(pairs)]


def suggest_paths(library: SchoolLibrary) -> list[str]:
    return [f"/api/search/suggest?q={quote_plus(p)}" for p in library.prefixes]


def _targets(server: HubServer, library: SchoolLibrary) -> dict[str, tuple[str, Target]]:
    port = server.port
    video = library.video_paths["short-video"]
    file_url = server.get_json(f"/api{video}")["files"]["main"]
    return {
        "lessons": ("random lesson pages", Target(port, library.lesson_paths, BROWSER)),
        "same_lesson": (
            "the same lesson page again and again",
            Target(port, library.lesson_paths[:1], BROWSER),
        ),
        "search": ("random searches (/search?q=)", Target(port, search_paths(library), BROWSER)),
        "search_fresh": (
            "searches never asked before",
            Target(port, fresh_search_paths(library), BROWSER),
        ),
        "suggest": (
            "search-as-you-type (/api/search/suggest)",
            Target(port, suggest_paths(library), FETCH),
        ),
        "file": ("1 MiB video file", Target(port, [file_url], count_status=False)),
    }


def _hub(
    ctx: Context, driver: Driver, prepared: Prepared, result: SectionResult
) -> dict[str, Numbers]:
    server = ctx.server(prepared.data, "school-hub")
    server.start(timeout=300)
    memory = MemoryLog(server)
    numbers: dict[str, Numbers] = {}
    try:
        time.sleep(IDLE_SETTLE)
        idle = memory.mark("idle")
        result.add(under("RSS idle, library loaded", idle, mb(idle), RSS_IDLE, "< 80 MB"))
        for key, (label, target) in _targets(server, prepared.library).items():
            ctx.say(f"hub: {label}, {ctx.clients} clients, {ctx.duration:g} s")
            numbers[key] = driver.run(target, ctx.clients, ctx.duration)
            server.check_alive()
            result.raw[f"load_{key}"] = numbers[key].summary()
            load_rows(result, label, numbers[key], ctx.clients, **BUDGETS.get(key, {}))
            rss = memory.mark(key)
            result.add(under("  RSS after", rss, mb(rss), RSS_AFTER, "< 150 MB"))
        _memory_rows(memory, result)
        _cache_row(server, result)
    finally:
        server.stop()
    seconds = server.start(timeout=60)
    server.stop()
    result.raw["restart_seconds"] = seconds
    shown = f"{seconds:.2f} s"
    result.add(
        under("restart with the library -> first 200", seconds, shown, RESTART_BUDGET, "< 1 s")
    )
    return numbers


def _cache_row(server: HubServer, result: SectionResult) -> None:
    """What the hub's page caches hold after the loads (from /healthz), against their budget."""
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as answer:
        caches = json.load(answer)["caches"]
    used = sum(entry["bytes"] for entry in caches.values())
    shown = ", ".join(
        f"{name} {entry['bytes'] / MB:.1f}/{entry['budget'] / MB:.1f}"
        for name, entry in caches.items()
    )
    result.add(info("page caches after the loads (MB used/budget)", used, shown))
    result.raw["caches"] = caches


def _memory_rows(memory: MemoryLog, result: SectionResult) -> None:
    peak = memory.peak()
    result.add(under("peak RSS (VmHWM)", peak, mb(peak), RSS_PEAK, "< 200 MB"))
    growth = memory.growth()
    biggest = max(growth, key=lambda item: item[1])
    shown = ", ".join(f"{label} {delta / MB:+.1f}" for label, delta in growth) + " MB"
    result.add(info("RSS change per load", biggest[1], shown))
    result.raw["rss_bytes"] = memory.readings | {"peak": peak}
