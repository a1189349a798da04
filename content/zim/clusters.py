"""Entries in compressed ZIM clusters, decompressed by the hub itself rather than by libzim.

libzim decompresses while holding the interpreter lock, so a hub reading random articles used
one core of two; zstandard and lzma let go of it (docs/search.md). A cluster is decompressed
only as far as the entry asked for (on average half of it), into a buffer reused from read to
read. What was decompressed is kept for the next read, in one cache bounded in bytes for the
whole process (`configure`), when the cluster comes back before that many bytes of others
did (`ClusterCache.admits`); else only the entry's own bytes are copied out.

Files are hostile until proven otherwise: every offset is checked (increasing, within the
decompressed data), nothing past a cluster's own bytes in the file is read, and a cluster
that would decompress beyond `max_cluster_bytes` is refused (a zstd or xz bomb). Anything
else odd answers None, and the caller reads the entry through libzim instead.
"""

from __future__ import annotations

import io
import itertools
import lzma
import os
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Protocol, cast

import zstandard

from content.zim.errors import ZimError
from content.zim.format import ClusterSpan, Header, Place, cluster_span, dirent_place

XZ = 4
ZSTD = 5
_READ = 128 * 1024  # compressed bytes read from the file at a time
_READ_WHOLE = 4 * 1024 * 1024  # a cluster no larger than this is read from the file in one go
_ZSTD_WINDOW_LOG = 23
# Clusters whose place in the file a reader remembers (32 bytes each, about 100 with Python's
# overhead): a big Wikipedia has some 100,000 clusters, and three reads of the file saved per
# entry are three moments a worker thread lets go of the interpreter lock and waits for it.
SPANS_KEPT = 4096
# What remembering one cluster decompressed but not kept costs, about (ClusterCache.saw).
SEEN_KEY_BYTES = 128
# Decompressions running at once, in the whole process: one per CPU they run on (those given
# to `decompress_on`, else those the process may run on when it first decompresses). Each
# holds a slot of about 3-5 MB (the compressed cluster, zstd's window, the output): 8 worker
# threads missing at once took a hub's memory 33 MB up, and more decompressions than cores
# go no faster.
_decompressing: threading.BoundedSemaphore | None = None
_making = threading.Lock()
# CPUs decompressions run on (`decompress_on`); None: wherever their threads run.
_elsewhere: frozenset[int] | None = None


def decompress_on(cpus: frozenset[int]) -> None:
    """Run decompressions on `cpus`, one per CPU at once, whichever CPUs their threads are
    kept to: a server that keeps its Python threads to one core (they run one at a time)
    gives this work, which lets go of the interpreter lock, to the others."""
    global _elsewhere, _decompressing
    with _making:
        _elsewhere, _decompressing = frozenset(cpus), None


def _at_once() -> threading.BoundedSemaphore:
    global _decompressing
    with _making:
        if _decompressing is None:
            cpus = _elsewhere or os.sched_getaffinity(0)
            _decompressing = threading.BoundedSemaphore(len(cpus))
        return _decompressing


@contextmanager
def _on_decompression_cpus() -> Iterator[None]:
    """The calling thread runs on `_elsewhere` meanwhile, then where it ran before. Setting a
    thread's CPUs to ones it is not on moves it at once; only widening them would leave it
    where it is until the kernel next balances its queues, after the decompression."""
    cpus = _elsewhere
    own = _move_to(cpus) if cpus else None
    try:
        yield
    finally:
        if own is not None:
            os.sched_setaffinity(0, own)


def _move_to(cpus: frozenset[int]) -> set[int] | None:
    """Run the calling thread on `cpus`; the CPUs it ran on, or None if it did not move."""
    try:
        own = os.sched_getaffinity(0)
        if own == cpus:
            return None
        os.sched_setaffinity(0, cpus)
    except OSError:  # the CPUs allowed changed under the hub (cgroups): it stays where it is
        return None
    return own


_tokens = itertools.count()  # tells the clusters of one open reader from another's


class _Stream(Protocol):
    def read(self, size: int) -> bytes: ...


@dataclass(frozen=True)
class Decompressed:
    """A cluster as far as it was decompressed: its offset list and the bytes from blob
    `first` on (`body`, from offset `offsets[first]`), possibly fewer than the whole. `first`
    is 0 for the cluster's start; a read kept for its own thread holds its blob alone."""

    offsets: array[int]
    body: bytes
    first: int = 0

    @property
    def cost(self) -> int:
        return len(self.body) + len(self.offsets) * self.offsets.itemsize

    def blob(self, number: int) -> bytes | None:
        """Blob `number`'s bytes if they were decompressed."""
        if number < self.first:
            return None
        start, end = (
            self.offsets[number] - self.offsets[self.first],
            self.offsets[number + 1] - self.offsets[self.first],
        )
        return self.body[start:end] if end <= len(self.body) else None


class ClusterCache:
    """Decompressed clusters, least recently used dropped first, within `max_bytes` (counted
    as what they hold: bytes, not Python's overhead of a few objects each)."""

    def __init__(self, max_bytes: int, max_cluster_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_cluster_bytes = max_cluster_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple[int, int], Decompressed] = OrderedDict()
        # Clusters decompressed but not kept, with their sizes, within max_bytes in all.
        self._seen: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._seen_bytes = 0
        self._lock = threading.Lock()

    def configure(self, max_bytes: int, max_cluster_bytes: int) -> None:
        with self._lock:
            self.max_bytes, self.max_cluster_bytes = max_bytes, max_cluster_bytes
            self._shrink()

    def get(self, key: tuple[int, int]) -> Decompressed | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def admits(self, key: tuple[int, int]) -> bool:
        """Whether a cluster about to be decompressed is worth a copy to keep: it was
        decompressed since the last `max_bytes` of other clusters were (`saw`), so keeping
        it then would have made this read a hit. Random reads over a big ZIM rarely come back
        that soon, and copying every cluster out cost a third of a read; the pages' shared
        styles and scripts come back at once, and are kept."""
        with self._lock:
            size = self._seen.pop(key, None)
            if size is None:
                return False
            self._seen_bytes -= size
            return True

    def saw(self, key: tuple[int, int], size: int) -> None:
        """A cluster decompressed (`size` bytes of it) but not kept. Each one counts its key
        too: a file of empty entries must not make the list grow without bound."""
        size += SEEN_KEY_BYTES
        with self._lock:
            self._seen_bytes -= self._seen.pop(key, 0)
            self._seen[key] = size
            self._seen_bytes += size
            while self._seen_bytes > self.max_bytes and self._seen:
                self._seen_bytes -= self._seen.popitem(last=False)[1]

    def put(self, key: tuple[int, int], value: Decompressed) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self.bytes -= old.cost if old is not None else 0
            if value.cost > self.max_bytes:
                return
            self._items[key] = value
            self.bytes += value.cost
            self._shrink()

    def _shrink(self) -> None:
        while self.bytes > self.max_bytes and self._items:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= dropped.cost


# A blob read without keeping its cluster is kept for the read that follows its sizing, in
# the same thread (ClusterReader.size, then .read), when no larger than this.
LAST_BLOB_UP_TO = 256 * 1024
# A decompression whose output fits this is made in its slot's reused buffer.
REUSED_OUTPUT_UP_TO = 8 * 1024**2

# The `zim_clusters_kept_bytes` and `zim_cluster_max_bytes` settings' defaults; the hub applies
# its settings at app start (configure).
KEPT = ClusterCache(4 * 1024**2, 64 * 1024**2)


def configure(kept_bytes: int, max_cluster_bytes: int) -> None:
    KEPT.configure(max(0, kept_bytes), max(0, max_cluster_bytes))


class ClusterReader:
    """One open ZIM's compressed entries. `fd` stays open as long as the reader is used."""

    def __init__(self, fd: int, header: Header, cache: ClusterCache = KEPT) -> None:
        self._fd = fd
        self._header = header
        self._cache = cache
        self._token = next(_tokens)
        self._spans: dict[int, ClusterSpan | None] = {}
        self._last = threading.local()  # .found: (key, Decompressed), one blob, this thread's

    def size(self, index: int) -> int | None:
        """Entry `index`'s size in bytes, from its cluster's offsets; None: ask libzim.
        The cluster is decompressed as far as the entry's end and kept: an entry is resolved
        to be read, and its read then finds it (the offsets alone would mean decompressing
        the cluster's start twice), unless nothing is kept. Hits of a search are never
        sized (ZimReader.title)."""
        place = self._place(index)
        if place is None or place.compression not in (XZ, ZSTD):
            return None
        whole = self._cache.max_bytes > 0
        try:
            found = self._decompressed(place, need_blob=whole)
        except ZimError:  # larger than the hub decompresses: the offsets say the size
            found = None
        if found is None and whole:  # or its bytes are damaged: the read says so, not this
            found = self._decompressed(place, need_blob=False)
        if found is None or place.blob + 1 >= len(found.offsets):
            return None
        return found.offsets[place.blob + 1] - found.offsets[place.blob]

    def read(self, index: int) -> bytes | None:
        """Entry `index`'s bytes if it lies in a zstd or xz cluster; None: ask libzim.
        Raises ZimError for a cluster larger than the hub decompresses."""
        place = self._place(index)
        if place is None or place.compression not in (XZ, ZSTD):
            return None
        found = self._decompressed(place, need_blob=True)
        return found.blob(place.blob) if found is not None else None

    def _place(self, index: int) -> Place | None:
        found = dirent_place(self._fd, self._header, index)
        if found is None:
            return None
        cluster, blob = found
        if cluster in self._spans:
            span = self._spans[cluster]
        else:
            span = cluster_span(self._fd, self._header, cluster)
            if len(self._spans) >= SPANS_KEPT:
                self._spans.clear()  # rare, and cheap to read again
            self._spans[cluster] = span
        return None if span is None else Place(cluster, blob, *span)

    def _decompressed(self, place: Place, need_blob: bool) -> Decompressed | None:
        key = (self._token, place.cluster)
        found = self._kept(key, place, need_blob)
        if found is not None:
            return found
        with _at_once(), _slot() as slot:
            found = self._kept(key, place, need_blob)  # another thread's, decompressed meanwhile
            if found is not None:
                return found
            keep = not need_blob or self._cache.admits(key)
            try:
                with _on_decompression_cpus():
                    found = self._decompress(place, need_blob, slot, keep)
            except (zstandard.ZstdError, lzma.LZMAError, EOFError, OSError, ValueError):
                slot.zstd.clear()  # a context that failed is not trusted again
                return None
        if found is None:
            return None
        if keep:
            self._cache.put(key, found)
            return found
        self._cache.saw(key, found.offsets[place.blob + 1] - found.offsets[0])
        if len(found.body) <= LAST_BLOB_UP_TO:
            self._last.found = (key, found)
        return found

    def _kept(self, key: tuple[int, int], place: Place, need_blob: bool) -> Decompressed | None:
        last = getattr(self._last, "found", None)
        if last is not None and last[0] == key and _holds(last[1], place.blob):
            return last[1]
        found = self._cache.get(key)
        if found is not None and (not need_blob or _holds(found, place.blob)):
            return found
        return None

    def _decompress(
        self, place: Place, need_blob: bool, slot: _Slot, keep: bool
    ) -> Decompressed | None:
        """The cluster's offsets, and its start up to the blob asked for (kept whole when
        `keep`; else the blob alone, copied out of the slot's buffer)."""
        limit = self._cache.max_cluster_bytes
        stream = _open(self._fd, place, limit, slot)
        offsets = _offsets(stream, place, limit)
        if offsets is None or place.blob + 1 >= len(offsets):
            return None
        if need_blob:
            _refuse_beyond(offsets[place.blob + 1], limit)
        want = offsets[place.blob + 1] - offsets[0] if need_blob else 0
        reused = want <= REUSED_OUTPUT_UP_TO
        if not keep and reused and isinstance(stream, zstandard.ZstdDecompressionReader):
            start = offsets[place.blob] - offsets[0]
            view = slot.output(want)
            if _fill(stream, view) < want:
                return None  # the data ends before its offsets say: truncated or damaged
            return Decompressed(offsets, bytes(view[start:]), first=place.blob)
        body = stream.read(want) if want else b""
        if len(body) < want:
            return None  # as above
        if keep:
            return Decompressed(offsets, body)
        start = offsets[place.blob] - offsets[0]
        return Decompressed(offsets, body[start:], first=place.blob)


def _holds(found: Decompressed, blob: int) -> bool:
    return blob + 1 < len(found.offsets) and found.blob(blob) is not None


def _fill(stream: zstandard.ZstdDecompressionReader, view: memoryview) -> int:
    """Decompressed bytes into all of `view`, or as many as there are; how many."""
    got = 0
    while got < len(view):
        count = stream.readinto(view[got:])
        if not count:
            break
        got += count
    return got


def _offsets(stream: _Stream, place: Place, limit: int) -> array[int] | None:
    """The cluster's offset list, checked: whole and increasing (a list longer than `limit`
    is refused; offsets past the data decompressed are found when a blob is read)."""
    width = place.width
    first = _numbers(stream.read(width), width)
    if first is None or not first or first[0] % width or first[0] < 2 * width:
        return None
    count = first[0] // width
    _refuse_beyond(first[0], limit)
    offsets = _numbers(stream.read(first[0] - width), width)
    if offsets is None or len(offsets) != count - 1:
        return None
    offsets.insert(0, first[0])
    # Sorting what is already in order is one pass in C; a loop here held the interpreter
    # lock 0.5 ms for a cluster of a thousand articles.
    if offsets.tolist() != sorted(offsets):
        return None
    return offsets


def _refuse_beyond(size: int, limit: int) -> None:
    if size > limit:
        raise ZimError(
            f"a cluster of this ZIM file would be decompressed to {size:,} bytes, more than the "
            f"{limit:,} the hub reads (zim_cluster_max_bytes): a damaged or hostile file."
        )


def _numbers(data: bytes, width: int) -> array[int] | None:
    if len(data) % width:
        return None
    numbers = array("Q" if width == 8 else "I")
    if numbers.itemsize != width:
        return None  # a platform whose C ints are not 4 bytes: libzim reads it
    numbers.frombytes(data)
    if sys.byteorder == "big":
        numbers.byteswap()  # ZIM numbers are little-endian
    return numbers


class _Slot:
    """What one decompression at a time reuses: zstd's context, whose window stays allocated,
    the buffer the compressed cluster is read into and the one it is decompressed into. Made
    afresh for each cluster they cost 515 of an article's 584 page faults and 40% of its CPU
    (random articles of the bench's ZIM); kept, they hold about 3 MB each (at most 12 MiB for
    a ZIM of unusually large clusters), and there are at most as many as decompressions
    run at once (`_at_once`)."""

    def __init__(self) -> None:
        self.zstd: dict[int, zstandard.ZstdDecompressor] = {}  # by largest window allowed
        self._compressed = bytearray()
        self._output = bytearray()

    def output(self, size: int) -> memoryview:
        """A buffer of `size` bytes for decompressed data (valid until the slot's next use)."""
        if len(self._output) < size:
            self._output = bytearray(size)  # a new one: views of the old may be alive
        return memoryview(self._output)[:size]

    def decompressor(self, window: int) -> zstandard.ZstdDecompressor:
        found = self.zstd.get(window)
        if found is None:
            self.zstd.clear()  # the setting changed: one context is enough
            found = self.zstd[window] = zstandard.ZstdDecompressor(max_window_size=window)
        return found

    def read(self, fd: int, start: int, size: int) -> memoryview:
        """The file's `size` bytes from `start` (fewer at its end), in this slot's buffer:
        valid until the slot's next read."""
        if len(self._compressed) < size:
            self._compressed = bytearray(size)  # a new one: views of the old may be alive
        view = memoryview(self._compressed)[:size]
        return view[: os.preadv(fd, [view], start)]


_idle_slots: list[_Slot] = []  # each one in use is held with a place in _at_once()


@contextmanager
def _slot() -> Iterator[_Slot]:
    """An idle slot for the caller alone (list.pop and append are atomic)."""
    slot = _idle_slots.pop() if _idle_slots else _Slot()
    try:
        yield slot
    finally:
        _idle_slots.append(slot)


def _open(fd: int, place: Place, limit: int, slot: _Slot) -> _Stream:
    """A stream of the cluster's decompressed bytes; never reads past the cluster's end. It
    reads from the slot's buffer: used up before the slot is given back."""
    # A cluster's compressed bytes (about a third of its 2 MB) in one read of the file rather
    # than one per 128 KiB asked through Python: a third less CPU per cluster.
    if place.end - place.start <= _READ_WHOLE:
        whole: memoryview | None = slot.read(fd, place.start + 1, place.end - place.start - 1)
    else:
        whole = None
    span = _FileSpan(fd, place.start + 1, place.end)
    if place.compression == ZSTD:
        # A frame asking a window larger than the allowed cluster (or than the 8 MiB libzim's
        # writer uses) is refused by zstd: a window is memory allocated before any output.
        window = 1 << max(_ZSTD_WINDOW_LOG, (limit - 1).bit_length())
        # zstandard only ever calls read() on a source (its stubs ask for a whole file).
        source = whole if whole is not None else cast(IO[bytes], span)
        return slot.decompressor(window).stream_reader(source, _READ)
    return _XzStream(io.BytesIO(whole) if whole is not None else span, limit)


class _FileSpan:
    """The file's bytes from `start` to `end`, read with pread (safe beside other threads)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self._fd, self._position, self._end = fd, start, end

    def read(self, size: int = -1) -> bytes:
        left = self._end - self._position
        size = left if size < 0 else min(size, left)
        data = os.pread(self._fd, size, self._position) if size > 0 else b""
        self._position += len(data)
        return data


class _XzStream:
    """Reads of exactly `size` decompressed bytes (fewer at the end), as zstandard's reader
    gives them: lzma's decompressor bounds each call's output, so a bomb never grows."""

    def __init__(self, source: _Stream, limit: int) -> None:
        self._source = source
        # The dictionary an xz stream may ask for: enough for any cluster within `limit`.
        self._decompressor = lzma.LZMADecompressor(lzma.FORMAT_AUTO, memlimit=limit + 2**24)

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        decompressor = self._decompressor
        while got < size and not decompressor.eof:
            data = self._source.read(_READ) if decompressor.needs_input else b""
            if decompressor.needs_input and not data:
                break  # the cluster's bytes ended first
            part = decompressor.decompress(data, size - got)
            parts.append(part)
            got += len(part)
        return b"".join(parts)
