"""The school section's comparison: nginx and kiwix-serve, where installed, under the same
loads on the same lessons, and the hub's numbers as ratios of theirs (hub / rival; above 1
means the hub is faster). nginx serves the lessons' HTML files and the 1 MiB video as plain
files (one worker, gzip on, sendfile); kiwix-serve serves the lessons from a ZIM written from
the same files and searches them with the ZIM's own full-text and title indexes."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote_plus

from benchlib import rivals, zim
from benchlib.context import BenchError, Context
from benchlib.pathload import Driver
from benchlib.report import SectionResult, info
from benchlib.rivals import RivalServer
from benchlib.school_data import Prepared
from benchlib.school_library import SchoolLibrary
from benchlib.school_rows import load_rows, ratio_row
from benchlib.serve import BROWSER
from benchlib.server import ServerError, get
from benchlib.wrk import Numbers, Target

FILE_SHARE = 1 / 3  # the hub serves the 1 MiB file at >= 1/3 of nginx's bytes/s


def measure(
    ctx: Context, driver: Driver, prepared: Prepared, hub: dict[str, Numbers], result: SectionResult
) -> None:
    for name, step in (("nginx", _nginx), ("kiwix-serve", _kiwix)):
        try:
            step(ctx, driver, prepared, hub, result)
        except (BenchError, ServerError) as err:
            result.add(info(name, None, f"stopped: {err}"))


def _nginx(
    ctx: Context, driver: Driver, prepared: Prepared, hub: dict[str, Numbers], result: SectionResult
) -> None:
    server = rivals.nginx(prepared.source / "packs", ctx.scratch / "nginx")
    if server is None:
        # Not a miss of the budget: there is nothing to hold the hub's rate against.
        result.add(info("nginx", None, "not installed (apt-get install nginx-light)"))
        result.add(info("  hub / nginx, 1 MiB file MB/s", None, "not measured"))
        return
    lessons = [_nginx_path(path) for path in prepared.library.lesson_paths]
    server.start(timeout=30)
    try:
        ctx.say(f"nginx: random lesson files and the 1 MiB video, {ctx.duration:g} s each")
        pages = driver.run(Target(server.port, lessons, BROWSER), ctx.clients, ctx.duration)
        video = Target(server.port, ["/school-media/short-video.mp4"], count_status=False)
        files = driver.run(video, ctx.clients, ctx.duration)
        server.check_alive()
    finally:
        server.stop()
    result.raw["nginx"] = {"lessons": pages.summary(), "file": files.summary()}
    load_rows(result, "nginx: random lesson files", pages, ctx.clients)
    result.add(
        ratio_row("  hub / nginx, lesson req/s", hub["lessons"].per_second, pages.per_second)
    )
    load_rows(result, "nginx: 1 MiB video file", files, ctx.clients, megabytes=True)
    ours, theirs = hub["file"].megabytes_per_second, files.megabytes_per_second
    result.add(ratio_row("  hub / nginx, 1 MiB file MB/s", ours, theirs, FILE_SHARE))


def _nginx_path(lesson_path: str) -> str:
    """/lessons/<pack>/<lesson> -> the lesson's HTML file as the generator wrote it."""
    return lesson_path.removeprefix("/lessons") + ".html"


def _kiwix(
    ctx: Context, driver: Driver, prepared: Prepared, hub: dict[str, Numbers], result: SectionResult
) -> None:
    library = prepared.library
    if rivals.kiwix_command() is None:
        result.add(info("kiwix-serve", None, "not installed"))
        return
    where = _zim(ctx, prepared, result)
    for key in ("lessons", "search", "suggest"):
        label = f"kiwix-serve: random {key}"
        # A fresh kiwix-serve per load: 3.3 is known to crash under concurrent /suggest,
        # and one crash should not cost the other loads their numbers.
        server = rivals.kiwix(where, ctx.scratch / "kiwix")
        server.start(timeout=120)
        try:
            ctx.say(f"{label}, {ctx.clients} clients, {ctx.duration:g} s")
            paths = _kiwix_paths(library, key, _book_prefix(server.port, library))
            target = Target(server.port, paths, BROWSER)
            kiwix = driver.run(target, ctx.clients, ctx.duration)
            time.sleep(0.2)  # a crash at the end of the load shows here
            server.check_alive()
        except (BenchError, ServerError) as err:
            result.add(info(label, None, _failure(server, err)))
            continue
        finally:
            server.stop()
        result.raw[f"kiwix_{key}"] = kiwix.summary()
        load_rows(result, label, kiwix, ctx.clients)
        ours = hub[key].per_second
        result.add(ratio_row(f"  hub / kiwix-serve, {key} req/s", ours, kiwix.per_second))


def _kiwix_paths(library: SchoolLibrary, key: str, prefix: str) -> list[str]:
    """The hub's load `key` as kiwix-serve's addresses: the same lessons, queries, prefixes."""
    if key == "lessons":
        return [prefix + zim.in_zim(path) for path in library.lesson_paths]
    if key == "search":
        return [f"/search?content={zim.NAME}&pattern={quote_plus(q)}" for q in library.queries]
    return [f"/suggest?content={zim.NAME}&term={quote_plus(p)}" for p in library.prefixes]


def _zim(ctx: Context, prepared: Prepared, result: SectionResult) -> Path:
    where = prepared.source / "school.zim"
    cached = where.exists()
    if not cached:
        ctx.say(f"writing the library as a ZIM with libzim: {where}")
    began = time.perf_counter()
    zim.write(prepared.library, where)
    made = "from the cache" if cached else f"made in {time.perf_counter() - began:.0f} s"
    size = f"{where.stat().st_size / 1e6:.0f} MB"
    result.add(info("kiwix-serve: ZIM of the same lessons", None, f"{size}, {made}"))
    return where


def _failure(server: RivalServer, err: Exception) -> str:
    """Why a load failed, in a line: the server's death, if it died, says most."""
    try:
        server.check_alive()
    except ServerError as died:
        err = died
    return str(err)[:150]


def _book_prefix(port: int, library: SchoolLibrary) -> str:
    first = zim.in_zim(library.lesson_paths[0])
    for prefix in zim.BOOK_PREFIXES:
        if get(port, prefix + first)[0] == 200:
            return prefix
    raise BenchError(f"kiwix-serve serves {first} under none of {', '.join(zim.BOOK_PREFIXES)}")
