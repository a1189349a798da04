"""The hub's own reads of compressed ZIM clusters (content.zim.clusters): byte-identical to
libzim for every entry of every test ZIM (xz and zstd clusters; libzim's Creator writes zstd
only, so xz comes from the openZIM files), hostile cluster bytes answered with None (libzim
reads instead) or one sentence, the cache within its bound, and a hub answering 503, not 500,
for an entry in a cluster larger than it decompresses."""

from __future__ import annotations

import json
import lzma
import os
import struct
import subprocess
import sys
import tracemalloc
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from libzim.reader import Archive

from content.zim import ZimError, ZimReader, clusters, configure_clusters
from content.zim.clusters import KEPT, XZ, ZSTD, ClusterCache, ClusterReader, Decompressed
from content.zim.format import MAGIC, locate, parse_header
from hub.core.db import connected
from hub.web.app import create_app
from tests.progress_helpers import prepare_hub
from tests.zim_helpers import GOOD, Entry, ZimSpec, make_zim

MIB = 1024**2
# What decoding may hold besides its output: xz's dictionary (8 MiB at xz's default preset).
DECODER = 12 * MIB


def _made(where: Path) -> Path:
    """A zstd ZIM of many small articles (several per cluster, one larger than a zstd block)
    beside uncompressed entries."""
    entries = {
        f"a/{n}.html": Entry("text/html", f"<p>article {n} ".encode() * (n % 97 + 1), f"A {n}")
        for n in range(300)
    }
    entries["big.txt"] = Entry("text/plain", os.urandom(300_000).hex().encode(), "Big")
    entries["empty.txt"] = Entry("text/plain", b"", "Empty")
    entries["raw.bin"] = Entry("application/octet-stream", os.urandom(5000), compress=False)
    return make_zim(where, ZimSpec(main="a/0.html", entries=entries))


def _compare(path: Path) -> set[int]:
    """Every entry read by the hub equals libzim's; the compressions the hub read itself."""
    archive = Archive(path)
    reader = ZimReader(path)
    compressions = set()
    for index in range(archive.all_entry_count):
        entry = archive._get_entry_by_id(index)
        if entry.is_redirect:
            continue
        ours = reader._resolve(entry)
        assert ours is not None
        item = entry.get_item()
        expected = bytes(item.content)
        assert ours.size == item.size, entry.path
        assert reader.read(ours) == expected, entry.path
        assert b"".join(reader.chunks(ours, 1, 70_000)) == expected[1:70_001], entry.path
        assert reader._clusters is not None
        if reader._clusters.read(index) is not None:
            compressions.add(_compression(path, index))
    reader.close()
    return compressions


def _compression(path: Path, index: int) -> int:
    with open(path, "rb") as handle:
        header = parse_header(handle.read(80), "")
        place = locate(handle.fileno(), header, index)
    assert place is not None
    return place.compression


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_every_entry_of_the_test_zims_is_read_as_libzim_reads_it(path: Path) -> None:
    assert _compare(path) & {XZ, ZSTD}


def test_both_compressions_are_read_by_the_hub() -> None:
    assert set().union(*(_compare(path) for path in GOOD)) == {XZ, ZSTD}


def test_a_made_zstd_zim_is_read_as_libzim_reads_it(tmp_path: Path) -> None:
    assert _compare(_made(tmp_path / "made.zim")) == {ZSTD}


def test_a_small_cache_still_reads_right(tmp_path: Path) -> None:
    made = _made(tmp_path / "made.zim")
    configure_clusters(1000, 64 * MIB)
    try:
        assert _compare(made) == {ZSTD}
        assert KEPT.bytes <= 1000
    finally:
        configure_clusters(8 * MIB, 64 * MIB)


# Hand-made files: a header, one path pointer, one cluster pointer, one dirent, one cluster.
def _file(where: Path, cluster: bytes, blob: int = 0) -> Path:
    dirent_at, cluster_at = 96, 112
    checksum_at = cluster_at + len(cluster)
    header = struct.pack(
        "<IHH16sIIQQQQIIQ", MAGIC, 6, 1, bytes(16), 1, 1, 80, 0, 88, 0, 0, 0, checksum_at
    )
    dirent = struct.pack("<HBcIII", 0, 0, b"C", 0, 0, blob)
    pointers = struct.pack("<QQ", dirent_at, cluster_at)
    where.write_bytes(header + pointers + dirent + cluster + bytes(16))
    return where


def _cluster(compression: int, offsets: list[int], data: bytes, width: int = 4) -> bytes:
    form = "<" + ("Q" if width == 8 else "I") * len(offsets)
    plain = struct.pack(form, *offsets) + data
    info = compression | (0x10 if width == 8 else 0)
    packed = zstandard.compress(plain) if compression == ZSTD else lzma.compress(plain)
    return bytes([info]) + packed


def _read(
    path: Path, index: int = 0, max_cluster: int = 64 * MIB
) -> tuple[bytes | None, int | None]:
    cache = ClusterCache(8 * MIB, max_cluster)
    with open(path, "rb") as handle:
        header = parse_header(handle.read(80), "")
        reader = ClusterReader(handle.fileno(), header, cache)
        return reader.read(index), reader.size(index)


@pytest.mark.parametrize("compression", [ZSTD, XZ])
@pytest.mark.parametrize("width", [4, 8])
def test_hand_made_clusters_read(tmp_path: Path, compression: int, width: int) -> None:
    cluster = _cluster(
        compression, [3 * width, 3 * width + 5, 3 * width + 11], b"hello world!", width
    )
    assert _read(_file(tmp_path / "a.zim", cluster, blob=1)) == (b" world", 6)


@pytest.mark.parametrize(
    ("offsets", "data", "blob"),
    [
        ([12, 20, 17], b"x" * 20, 0),  # decreasing
        ([10, 15], b"x" * 20, 0),  # a list whose length is not a whole number of offsets
        ([4], b"x" * 20, 0),  # no blob at all
        ([12, 17, 100], b"x" * 20, 1),  # beyond the data decompressed
        ([12, 17, 20], b"x" * 20, 2),  # a blob number past the list
        ([8, 8 + 2**31], b"", 0),  # an offset past any sane cluster, beyond the data
    ],
)
@pytest.mark.parametrize("compression", [ZSTD, XZ])
def test_bad_offsets_answer_none(
    tmp_path: Path, compression: int, offsets: list[int], data: bytes, blob: int
) -> None:
    path = _file(tmp_path / "a.zim", _cluster(compression, offsets, data), blob)
    try:
        assert _read(path)[0] is None
    except ZimError as err:  # claims beyond the cap: refused in one sentence
        assert offsets[-1] > 64 * MIB and str(err).count(". ") == 0


@pytest.mark.parametrize("compression", [ZSTD, XZ])
def test_truncated_and_garbage_clusters_answer_none(tmp_path: Path, compression: int) -> None:
    whole = _cluster(compression, [8, 8 + 40_000], os.urandom(40_000))
    # The offsets survive the cut (so the size is known); the entry's bytes do not.
    assert _read(_file(tmp_path / "a.zim", whole[: len(whole) // 2]))[0] is None
    garbage = bytes([compression]) + os.urandom(500)
    assert _read(_file(tmp_path / "b.zim", garbage)) == (None, None)


def test_a_cluster_pointing_outside_the_file_answers_none(tmp_path: Path) -> None:
    path = _file(tmp_path / "a.zim", _cluster(ZSTD, [8, 13], b"hello"))
    data = bytearray(path.read_bytes())
    data[88:96] = struct.pack("<Q", len(data) + 10)
    path.write_bytes(bytes(data))
    assert _read(path) == (None, None)


@pytest.mark.parametrize("compression", [ZSTD, XZ])
def test_a_bomb_is_refused_without_growing(tmp_path: Path, compression: int) -> None:
    """64 MiB of zeros claimed by the offsets, with a cap of one: refused in a sentence
    before anything near the claim is decompressed (its size alone is read)."""
    bomb = _cluster(compression, [8, 8 + 64 * MIB], bytes(64 * MIB))
    path = _file(tmp_path / "bomb.zim", bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ZimError, match="more than the 1,048,576 the hub reads"):
            _read(path, max_cluster=MIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < DECODER


@pytest.mark.parametrize("compression", [ZSTD, XZ])
def test_a_bomb_after_the_blob_is_never_decompressed(tmp_path: Path, compression: int) -> None:
    """Offsets that say 5 bytes, data that goes on for 64 MiB: only the 5 are read."""
    bomb = _cluster(compression, [8, 13], b"hello" + bytes(64 * MIB))
    tracemalloc.start()
    try:
        assert _read(_file(tmp_path / "bomb.zim", bomb), max_cluster=MIB) == (b"hello", 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < DECODER


def test_the_cache_keeps_within_its_bound_least_recently_used_first() -> None:
    cache = ClusterCache(10_000, MIB)

    def value(size: int) -> Decompressed:
        return Decompressed(array("I", [8, 8 + size]), bytes(size))

    for n in range(10):
        cache.put((1, n), value(3000))
        assert cache.bytes <= 10_000
    assert cache.get((1, 9)) is not None and cache.get((1, 0)) is None
    cache.get((1, 7))
    cache.put((1, 10), value(3000))
    assert cache.get((1, 7)) is not None and cache.get((1, 8)) is None
    cache.put((1, 11), value(20_000))  # larger than the whole cache: never kept
    assert cache.get((1, 11)) is None and cache.bytes <= 10_000
    cache.configure(0, MIB)
    assert cache.bytes == 0


@pytest.fixture
def tiny_cap_app(tmp_path: Path) -> Iterator[tuple[object, str]]:
    made = _made(tmp_path / "made.zim")
    data = tmp_path / "data"
    prepare_hub(data, packs=[made], samples=False)
    # The offset list (300 articles: 1.2 kB) is read; the 600 kB entry would pass the cap.
    app = create_app(data_dir=data, overrides={"zim_cluster_max_bytes": 5000})
    try:
        yield app, "test_zim_en"
    finally:
        configure_clusters(8 * MIB, 64 * MIB)


def test_a_hub_answers_503_for_a_cluster_beyond_its_cap(tiny_cap_app: tuple) -> None:
    app, name = tiny_cap_app
    with connected():
        client = app.test_client()
        answer = client.get(f"/zim/{name}/big.txt", headers={"Accept": "application/json"})
        assert answer.status_code == 503
        assert answer.get_json()["error"]["code"] == "zim_unreadable"
        assert client.get(f"/zim/{name}/raw.bin").status_code == 200  # uncompressed: served


def test_decompressions_reuse_zstds_context_but_never_one_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    real = zstandard.ZstdDecompressor

    def counted(**options: Any) -> zstandard.ZstdDecompressor:
        made.append(options["max_window_size"])
        return real(**options)

    monkeypatch.setattr(clusters.zstandard, "ZstdDecompressor", counted)
    monkeypatch.setattr(clusters, "_idle_slots", [])
    good = [
        _file(tmp_path / f"{n}.zim", _cluster(ZSTD, [12, 17, 20 + n], b"hello world!"), 1)
        for n in range(3)
    ]
    for path in good:  # each read decompresses (a cache of its own): one context for all
        assert _read(path)[0] is not None
    assert len(made) == 1 and len(clusters._idle_slots) == 1
    garbage = _file(tmp_path / "bad.zim", bytes([ZSTD]) + os.urandom(500))
    assert _read(garbage) == (None, None)
    after_failure = len(made)
    assert _read(good[2])[0] == b" worl"
    assert _read(good[1])[0] == b" wor"
    assert len(made) == after_failure + 1  # the one that failed was dropped; the new one kept


# Reads a ZIM's articles from 6 threads at once in a fresh interpreter, first kept to one CPU
# when asked (as `learnhub serve` keeps its threads), and prints how many slots were made.
SLOTS_PROGRAM = """
import os, sys, threading
from content.zim import ZimReader, clusters, configure_clusters
if sys.argv[2] == "one":
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
configure_clusters(0, 64 * 2**20)  # nothing kept: every read decompresses
reader = ZimReader(sys.argv[1])
def read_all():
    for n in range(50):
        entry = reader.entry(f"a/{n}.html")
        assert reader.read(entry) == f"<p>article {n} ".encode() * 40
threads = [threading.Thread(target=read_all) for _ in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(clusters._idle_slots))
"""


def test_decompressions_run_one_per_cpu_the_process_may_use(tmp_path: Path) -> None:
    entries = {
        f"a/{n}.html": Entry("text/html", f"<p>article {n} ".encode() * 40, f"Article {n}")
        for n in range(50)
    }
    made = make_zim(tmp_path / "a.zim", ZimSpec(main="a/0.html", entries=entries))

    def slots(cpus: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", SLOTS_PROGRAM, str(made), cpus],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout)

    assert slots("one") == 1
    assert 1 <= slots("all") <= len(os.sched_getaffinity(0))


# As `learnhub serve` does: the threads kept to one CPU, decompressions given the others.
# Prints the CPUs each decompression ran on, and those the readers ran on afterwards.
ELSEWHERE_PROGRAM = """
import json, os, sys, threading
from content.zim import ZimReader, clusters, configure_clusters, decompress_on
allowed = os.sched_getaffinity(0)
os.sched_setaffinity(0, {max(allowed)})
decompress_on(frozenset(allowed) - {max(allowed)})
configure_clusters(0, 64 * 2**20)  # nothing kept: every read decompresses
seen, after = set(), set()
real = clusters.ClusterReader._decompress
def watched(*args):
    seen.add(frozenset(os.sched_getaffinity(0)))
    return real(*args)
clusters.ClusterReader._decompress = watched
reader = ZimReader(sys.argv[1])
def read_all():
    for n in range(50):
        entry = reader.entry(f"a/{n}.html")
        assert reader.read(entry) == f"<p>article {n} ".encode() * 40
    after.add(frozenset(os.sched_getaffinity(0)))
threads = [threading.Thread(target=read_all) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
cpus = [sorted(map(sorted, seen)), sorted(map(sorted, after))]
print(json.dumps([*cpus, len(clusters._idle_slots)]))
"""


def test_decompressions_run_on_the_cpus_the_servers_threads_leave_free(tmp_path: Path) -> None:
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        pytest.skip("this machine gives the tests one CPU: nothing to leave free")
    entries = {
        f"a/{n}.html": Entry("text/html", f"<p>article {n} ".encode() * 40, f"Article {n}")
        for n in range(50)
    }
    made = make_zim(tmp_path / "a.zim", ZimSpec(main="a/0.html", entries=entries))
    done = subprocess.run(
        [sys.executable, "-c", ELSEWHERE_PROGRAM, str(made)],
        capture_output=True,
        text=True,
        check=True,
    )
    decompressed_on, read_on, slots = json.loads(done.stdout)
    assert decompressed_on == [sorted(allowed - {max(allowed)})]
    assert read_on == [[max(allowed)]]  # back where they were
    assert 1 <= slots <= len(allowed) - 1  # one decompression per CPU given, at most
