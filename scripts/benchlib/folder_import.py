"""`scripts/bench --only folder-import`: a plain folder of 2,000 files, 2 GB, imported.

Issue 16 asks that importing such a folder be bounded by the disk, not by Python. The folder is
written here (real random bytes, so nothing compresses or deduplicates; 20 subfolders of
PDFs, videos, pictures and audio of mixed sizes) in the bench's scratch directory, on the
same disk as the data dir. Then, each from a cold page cache when the bench runs as root
(`sync; echo 3 > /proc/sys/vm/drop_caches`; else warm, and the report says so):
`cp -r` of the folder on the same disk, the installed hub's `learnhub content import` of it
(hash, copy, fsync, index), and the same import again with nothing changed (decided from the
folder's digest before any file is copied). Every copy is deleted afterwards.

Other work on the machine slows both, so each gets its CPU seconds (user + system, the
command's own, as the kernel counts them) beside its wall time: an import bounded by the disk
spends fewer CPU seconds than its wall time on 2 cores allows, whatever the load.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

from benchlib.context import BenchError, Context
from benchlib.report import MB, Row, SectionResult, info

FILES = 2_000
TOPICS = 20
TOTAL_BYTES = 2_000_000_000
# Sizes in turn (a mean of 1 MB), and the kinds a teacher's folder holds.
SIZES = (250_000, 500_000, 1_000_000, 1_500_000, 1_750_000)
KINDS = (".pdf", ".mp4", ".jpg", ".mp3", ".png")
WRITE_PIECE = 4 * 1024 * 1024


def run(ctx: Context) -> SectionResult:
    result = SectionResult("folder-import")
    folder = ctx.scratch / "Teacher folder"
    try:
        written = write_folder(folder, ctx)
        cold = _can_drop_caches()
        copied, cp_cpu = _timed(ctx, cold, ["cp", "-r", str(folder), str(ctx.scratch / "cp-copy")])
        shutil.rmtree(ctx.scratch / "cp-copy")
        data = ctx.scratch / "folder-data"
        hub_cli = [str(ctx.learnhub), "content", "import", "--data", str(data), str(folder)]
        load = os.getloadavg()[0]
        first, import_cpu = _timed(ctx, cold, hub_cli)
        again, _ = _timed(ctx, cold, hub_cli)
    except BenchError as err:
        result.error = str(err)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(ctx.scratch / "folder-data", ignore_errors=True)
    cache = "cold cache (dropped before each)" if cold else "warm cache (not root: cannot drop)"
    result.add(info("  folder: files / size", written, f"{FILES:,} / {written / MB:,.0f} MB"))
    result.add(info("  page cache", None, cache))
    result.add(_rate("  cp -r, same disk", copied, written))
    result.add(_cpu("  cp -r: CPU seconds", cp_cpu, copied))
    result.add(_rate("  learnhub content import, first", first, written))
    result.add(_cpu("  import: CPU seconds", import_cpu, first))
    result.add(info("  load average before the import", load, f"{load:.1f}"))
    result.add(info("  import / cp (speed ratio)", copied / first, f"{copied / first:.2f}x cp"))
    result.add(info("  import again, unchanged (s)", again, f"{again:.1f} s"))
    result.raw = {"bytes": written, "files": FILES, "cp": copied, "import": first}
    result.raw.update({"again": again, "cold": cold, "cp_cpu": cp_cpu, "import_cpu": import_cpu})
    return result


def write_folder(folder: Path, ctx: Context) -> int:
    """FILES files of random bytes, TOTAL_BYTES in all, in TOPICS subfolders; synced."""
    ctx.say(f"writing {FILES:,} files, {TOTAL_BYTES / MB:,.0f} MB of random bytes: {folder}")
    written = 0
    for number in range(FILES):
        topic = folder / f"{number % TOPICS + 1:02d} - Topic {number % TOPICS + 1}"
        topic.mkdir(parents=True, exist_ok=True)
        size = SIZES[number % len(SIZES)]
        name = f"{number // TOPICS + 1:03d} - Lesson {number + 1}{KINDS[number % len(KINDS)]}"
        with open(topic / name, "wb") as out:
            for start in range(0, size, WRITE_PIECE):
                out.write(os.urandom(min(WRITE_PIECE, size - start)))
        written += size
    if written != TOTAL_BYTES:
        raise BenchError(f"the folder holds {written:,} bytes, not {TOTAL_BYTES:,}")
    os.sync()
    return written


def _can_drop_caches() -> bool:
    if os.geteuid() != 0:
        return False
    try:
        _drop_caches()
    except OSError:  # root in a container whose /proc/sys is read-only
        return False
    return True


def _drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as drop:
        drop.write("3\n")


def _timed(ctx: Context, cold: bool, argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command) to run `argv` and sync its writes."""
    if cold:
        _drop_caches()
    ctx.say(" ".join(argv[:3]) + " …")
    began, children = time.perf_counter(), _children_cpu()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    cpu = _children_cpu() - children
    os.sync()  # the copy is on the disk, as the hub's fsynced import is
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        why = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise BenchError(f"`{' '.join(argv[:3])}` failed ({done.returncode}): {why}")
    return seconds, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(measure: str, cpu: float, seconds: float) -> Row:
    return info(measure, cpu, f"{cpu:.1f} s ({cpu / seconds:.0%} of one core over its run)")


def _rate(measure: str, seconds: float, size: int) -> Row:
    return info(measure, size / MB / seconds, f"{size / MB / seconds:,.0f} MB/s ({seconds:.1f} s)")
