"""`scripts/bench`'s command line: pick sections, run them, print the table, write JSON."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import (
    folder_import,
    kolibri,
    product,
    progress,
    school,
    school_pi,
    search,
    search_load,
    serve,
    slow_clients,
    sync_size,
    zim_load,
)
from benchlib.context import BenchError, Context
from benchlib.report import SectionResult, format_table, write_json

# Later sections (search, progress, sync) register here, in the order they run.
SECTIONS: dict[str, Callable[[Context], SectionResult]] = {
    "serve": serve.run,
    "sync": sync_size.run,
    "progress": progress.run,
    "search": search.run,
    "search-load": search_load.run,
    "slowclients": slow_clients.run,
    "school": school.run,
    "school-pi": school_pi.run,
    "kolibri": kolibri.run,
    "zim": zim_load.run,
    "folder-import": folder_import.run,
}
DEFAULT_DURATION = 10.0
# A section whose runs mean little when short has its own default (--duration still wins).
SECTION_DURATION = {"progress": 60.0, "school": 15.0, "school-pi": 15.0}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure Learning Hub on this machine and print a table (asserts nothing).",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(SECTIONS),
        metavar="SECTION",
        help=f"run only this section (repeatable): {', '.join(SECTIONS)}",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers here")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="length of each load run (default 10; progress: 60)",
    )
    parser.add_argument(
        "--clients", type=int, default=32, help="concurrent connections per load run (default 32)"
    )
    parser.add_argument(
        "--cold-starts", type=int, default=5, help="cold starts to take the median of (default 5)"
    )
    parser.add_argument(
        "--holders",
        type=int,
        default=8,
        help="slow Range downloads during the stall check (default 8)",
    )
    parser.add_argument(
        "--lessons",
        type=int,
        default=20_000,
        help="article lessons in the school sections' library (default 20000; at least 10)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (data dirs, server logs)"
    )
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="run the hub from .venv (with the test tools) instead of a fresh `pip install .`",
    )
    args = parser.parse_args(argv)
    duration_bad = args.duration is not None and args.duration <= 0
    if duration_bad or args.clients < 1 or args.cold_starts < 1 or args.holders < 0:
        parser.error("--duration, --clients and --cold-starts must be positive")
    if args.lessons < 10:  # one per pack at least
        parser.error("--lessons must be at least 10")
    return args


def _learnhub(root: Path, scratch: Path, dev_venv: bool) -> Path:
    if dev_venv:
        learnhub = root / ".venv" / "bin" / "learnhub"
        if not learnhub.exists():
            raise BenchError(f"{learnhub} is missing: run scripts/test (it makes .venv) first.")
        return learnhub
    print("installing the hub into a fresh venv (pip install .)", file=sys.stderr, flush=True)
    return product.install(root, scratch / "hub-venv")


def _for_section(context: Context, name: str, duration: float | None) -> Context:
    if duration is not None or name not in SECTION_DURATION:
        return context
    return dataclasses.replace(context, duration=SECTION_DURATION[name])


def run(argv: list[str], root: Path) -> int:
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="learnhub-bench-"))
    began = time.perf_counter()
    try:
        learnhub = _learnhub(root, scratch, args.dev_venv)
    except BenchError as err:
        shutil.rmtree(scratch, ignore_errors=True)
        print(err, file=sys.stderr)
        return 1
    context = Context(
        root,
        scratch,
        args.duration or DEFAULT_DURATION,
        args.clients,
        args.cold_starts,
        args.holders,
        learnhub,
        began=began,
        lessons=args.lessons,
    )
    load_before = os.getloadavg()[0]
    results: list[SectionResult] = []
    try:
        for name in args.only or SECTIONS:
            context.say(f"section {name}")
            results.append(SECTIONS[name](_for_section(context, name, args.duration)))
    finally:
        seconds = time.perf_counter() - context.began
        if args.keep:
            context.say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(format_table(results))
    print(
        f"\n{len(results)} section(s) in {seconds:.0f} s on {os.cpu_count()} CPUs "
        f"(load average {load_before:.2f} before); MB = 10^6 bytes; latencies are per "
        f"request, first byte sent to last byte read; the hub ran from {learnhub}."
    )
    if args.json:
        write_json(args.json, results, seconds)
        print(f"numbers written to {args.json}")
    return 0
