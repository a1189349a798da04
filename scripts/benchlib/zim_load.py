"""Section "zim": the hub serving and searching a 20,000-article ZIM with a full-text index
(benchlib.zim_articles), and kiwix-serve on the same file in the same run when it is
installed (apt-get install kiwix-tools, done here when missing and we are root), with the
hub's numbers as ratios of kiwix-serve's.

Loads, each at --clients for --duration: random searches (the /search page against
kiwix-serve's /search page, and /api/search), random articles (the article's bytes, as the
hub's reading frame loads them, against kiwix-serve's /content/...), typing prefixes
(/api/search/suggest against kiwix-serve's /suggest). Budgets (issue #15): search >= 10x
kiwix-serve's req/s with p95 < 100 ms; articles >= kiwix-serve's rate; suggest never fails,
p95 < 20 ms; hub RSS after the loads < 100 MB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

from benchlib import rivals, zim_articles
from benchlib.context import BenchError, Context
from benchlib.pathload import Driver
from benchlib.report import MB, Row, SectionResult, at_least, info, under
from benchlib.rss import MemoryLog
from benchlib.school_rows import load_rows, ratio_row
from benchlib.server import HubServer, ServerError, get
from benchlib.wrk import Numbers, Target

ACCEPT = (("Accept-Language", "en"),)
BROWSER = (*ACCEPT, ("Accept", "text/html"), ("Accept-Encoding", "gzip, deflate"))
SEARCH_RATIO = 10.0
SEARCH_P95 = 0.100
SUGGEST_P95 = 0.020
RSS_BUDGET = 100 * MB
LOADS = ("search", "articles", "suggest")


def run(ctx: Context) -> SectionResult:
    result = SectionResult("zim")
    try:
        book = zim_articles.ensure(ctx.say)
        size = book.path.stat().st_size
        result.add(info("ZIM: articles, size", size, f"{len(book.articles):,}, {size / MB:.0f} MB"))
        data = _imported(ctx, book.path, result)
        driver = Driver.choose(ctx)
        hub = _hub(ctx, driver, data, book, result)
        _kiwix(ctx, driver, book, hub, result)
    except (BenchError, ServerError) as err:
        result.error = str(err)
    return result


def _imported(ctx: Context, zim: Path, result: SectionResult) -> Path:
    data = ctx.scratch / "zim-data"
    ctx.say(f"importing {zim.name} into {data} (checked whole, copied once)")
    began = time.perf_counter()
    ctx.learnhub_cli("content", "import", str(zim), "--data", str(data), timeout=1800)
    seconds = time.perf_counter() - began
    result.add(info("import (check + copy)", seconds, f"{seconds:.1f} s"))
    return data


def _hub_paths(book: zim_articles.Encyclopedia) -> dict[str, list[str]]:
    name = zim_articles.NAME
    return {
        "search": [f"/search?{urlencode({'q': q})}" for q in book.queries],
        "api-search": [f"/api/search?{urlencode({'q': q})}" for q in book.queries],
        "articles": [f"/zim/{name}/{quote(path)}" for path in book.articles],
        "suggest": [f"/api/search/suggest?{urlencode({'q': p})}" for p in book.prefixes],
    }


def _hub(
    ctx: Context, driver: Driver, data: Path, book: zim_articles.Encyclopedia, result: SectionResult
) -> dict[str, Numbers]:
    server = ctx.server(data, "zim-hub")
    server.start(timeout=120)
    numbers: dict[str, Numbers] = {}
    memory = MemoryLog(server)
    memory.mark("start")
    try:
        for key, paths in _hub_paths(book).items():
            headers = BROWSER if key in ("search", "articles") else ACCEPT
            ctx.say(f"hub: random {key}, {ctx.clients} clients, {ctx.duration:g} s")
            numbers[key] = driver.run(
                Target(server.port, paths, headers), ctx.clients, ctx.duration
            )
            server.check_alive()
            memory.mark(key)
            result.raw[f"hub_{key}"] = numbers[key].summary()
            _hub_rows(result, key, numbers[key], ctx.clients)
        rss = server.rss_bytes()
        result.add(
            under("hub RSS after the loads", rss, f"{rss / MB:.0f} MB", RSS_BUDGET, "< 100 MB")
        )
        _memory_rows(server, memory, result)
    finally:
        server.stop()
    return numbers


def _memory_rows(server: HubServer, memory: MemoryLog, result: SectionResult) -> None:
    """Where the hub's memory grew (RSS at start, then after each load) and what its caches
    hold against their budgets: the RSS budget is met or missed by these parts."""
    start = memory.readings["start"]
    shown = f"start {start / MB:.0f}, " + ", ".join(
        f"{label} {delta / MB:+.0f}" for label, delta in memory.growth()
    )
    result.add(info("  RSS at start, then change per load", start, shown + " MB"))
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as answer:
        caches = json.load(answer)["caches"]
    used = sum(entry["bytes"] for entry in caches.values())
    kept = ", ".join(
        f"{name} {entry['bytes'] / MB:.1f}" for name, entry in caches.items() if entry["bytes"]
    )
    result.add(info("  of which cache_bytes holds (MB)", used, kept or "nothing"))
    result.raw["rss_bytes"] = memory.readings
    result.raw["caches"] = caches


def _hub_rows(result: SectionResult, key: str, numbers: Numbers, clients: int) -> None:
    label = {
        "search": "hub: random searches, /search page",
        "api-search": "hub: random searches, /api/search",
        "articles": "hub: random articles (bytes)",
        "suggest": "hub: typing prefixes, /api/search/suggest",
    }[key]
    ceiling = {"search": SEARCH_P95, "api-search": SEARCH_P95, "suggest": SUGGEST_P95}.get(key)
    load_rows(result, label, numbers, clients, p95_ceiling=ceiling)
    if key == "suggest":
        failed = sum(numbers.errors.values())
        result.add(Row("  suggest never fails", failed, f"{failed} failed", "0", failed == 0))


def _kiwix(
    ctx: Context,
    driver: Driver,
    book: zim_articles.Encyclopedia,
    hub: dict[str, Numbers],
    result: SectionResult,
) -> None:
    if ensure_kiwix(ctx) is None:
        result.add(info("kiwix-serve", None, "not installed (apt-get install kiwix-tools)"))
        return
    for key in LOADS:
        label = f"kiwix-serve: random {key}"
        # A fresh kiwix-serve per load: 3.3 crashes under concurrent /suggest (#751), and one
        # crash should not cost the other loads their numbers.
        server = rivals.kiwix(book.path, ctx.scratch / "kiwix-zim")
        try:
            server.start(timeout=120)
            paths = _kiwix_paths(book, key, _prefix(server.port, book))
            ctx.say(f"{label}, {ctx.clients} clients, {ctx.duration:g} s")
            theirs = driver.run(Target(server.port, paths, BROWSER), ctx.clients, ctx.duration)
            time.sleep(0.2)  # a crash at the end of the load shows here
            server.check_alive()
        except (BenchError, ServerError) as err:
            result.add(info(label, None, _failure(server, err)))
            continue
        finally:
            server.stop()
        result.raw[f"kiwix_{key}"] = theirs.summary()
        load_rows(result, label, theirs, ctx.clients)
        _ratio(result, key, hub[key].per_second, theirs.per_second)


def _failure(server: rivals.RivalServer, err: Exception) -> str:
    """Why a load failed, in a line: the server's death, if it died, says most."""
    try:
        server.check_alive()
    except ServerError as died:
        err = died
    return str(err)[:150]


def _ratio(result: SectionResult, key: str, ours: float, theirs: float) -> None:
    label = f"  hub / kiwix-serve, {key} req/s"
    if key == "search":
        ratio = ours / theirs if theirs else None
        shown = "-" if ratio is None else f"{ratio:.1f}"
        result.add(at_least(label, ratio, shown, SEARCH_RATIO, f">= {SEARCH_RATIO:g}"))
    elif key == "articles":
        result.add(ratio_row(label, ours, theirs, 1.0))
    else:
        result.add(ratio_row(label, ours, theirs))


def _kiwix_paths(book: zim_articles.Encyclopedia, key: str, prefix: str) -> list[str]:
    name = zim_articles.NAME
    if key == "articles":
        return [prefix + quote(path) for path in book.articles]
    if key == "search":
        return [f"/search?content={name}&pattern={quote_plus(q)}" for q in book.queries]
    return [f"/suggest?content={name}&term={quote_plus(p)}" for p in book.prefixes]


def _prefix(port: int, book: zim_articles.Encyclopedia) -> str:
    """Where kiwix-serve puts the book's entries: /content/<book>/ since 3.4, /<book>/ before."""
    first = quote(book.articles[0])
    for prefix in (f"/content/{zim_articles.NAME}/", f"/{zim_articles.NAME}/"):
        if get(port, prefix + first)[0] == 200:
            return prefix
    raise BenchError(f"kiwix-serve serves {first} under neither /content/ nor /")


def ensure_kiwix(ctx: Context) -> str | None:
    """kiwix-serve's path; installed with apt-get first when missing and we are root."""
    if rivals.kiwix_command() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return rivals.kiwix_command()
    ctx.say("installing kiwix-serve (apt-get install kiwix-tools)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "kiwix-tools"]):
        subprocess.run(step, env=environment, capture_output=True, timeout=900, check=False)
    return rivals.kiwix_command()
