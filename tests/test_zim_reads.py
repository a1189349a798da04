"""What reading and searching a ZIM costs, where it cost too much before (#15's budgets): an
entry's cluster is decompressed once to size and read it, search hits and suggestions never
decompress their articles, suggestions are the titles search's first paths, and a window of
matches that comes back short counts them exactly."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content.zim import ZimReader, configure_clusters
from content.zim.clusters import KEPT, ClusterReader, Decompressed
from content.zim.search import ZimSearcher
from tests.zim_helpers import RAY, Entry, ZimSpec, make_zim

MIB = 1024**2


@pytest.fixture
def decompressions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The clusters the hub decompresses, in order (each a call of ClusterReader._decompress)."""
    seen: list[int] = []
    real = ClusterReader._decompress

    def counted(self: ClusterReader, place: Any, *rest: Any) -> Any:
        seen.append(place.cluster)
        return real(self, place, *rest)

    monkeypatch.setattr(ClusterReader, "_decompress", counted)
    configure_clusters(8 * MIB, 64 * MIB)
    yield seen
    configure_clusters(8 * MIB, 64 * MIB)


def _articles(where: Path) -> Path:
    entries = {
        f"a/{n}.html": Entry("text/html", f"<p>article {n} ".encode() * 40, f"Article {n}")
        for n in range(50)
    }
    return make_zim(where, ZimSpec(main="a/0.html", entries=entries))


def test_an_entry_is_decompressed_once_to_size_and_read_it(
    tmp_path: Path, decompressions: list[int]
) -> None:
    with ZimReader(_articles(tmp_path / "a.zim")) as reader:
        entry = reader.entry("a/30.html")
        assert entry is not None
        assert reader.read(entry) == b"<p>article 30 " * 40
        assert len(decompressions) == 1
        assert reader.read(entry) == b"<p>article 30 " * 40  # kept
        assert len(decompressions) == 1


def test_a_cluster_is_kept_when_it_is_read_again_before_the_cache_would_have_dropped_it(
    tmp_path: Path, decompressions: list[int]
) -> None:
    with ZimReader(_articles(tmp_path / "a.zim")) as reader:
        before = KEPT.bytes  # what other tests' readers left
        first = reader.entry("a/33.html")
        assert first is not None and reader.read(first) == b"<p>article 33 " * 40
        assert KEPT.bytes == before  # read once: only its blob was copied out, for this read
        for n in (32, 31, 30):  # the cluster is decompressed as far as the blob asked for
            entry = reader.entry(f"a/{n}.html")
            assert entry is not None and reader.read(entry) == f"<p>article {n} ".encode() * 40
        assert len(decompressions) == 2  # the second read kept it, the others found it
        assert KEPT.bytes > before


def test_a_blob_read_alone_never_answers_for_another(tmp_path: Path) -> None:
    offsets = array("I", [12, 17, 23])
    alone = Decompressed(offsets, b" world", first=1)
    assert alone.blob(1) == b" world"
    assert alone.blob(0) is None  # before it
    assert Decompressed(offsets, b"hello", first=0).blob(1) is None  # past what it holds


def test_with_nothing_kept_sizing_reads_only_the_offsets(
    tmp_path: Path, decompressions: list[int]
) -> None:
    configure_clusters(0, 64 * MIB)
    with ZimReader(_articles(tmp_path / "a.zim")) as reader:
        entry = reader.entry("a/30.html")
        assert entry is not None and entry.size == len(b"<p>article 30 ") * 40
        assert reader.read(entry) == b"<p>article 30 " * 40
        assert len(decompressions) == 2  # the offsets, then the bytes: never the bytes twice


def test_search_hits_and_suggestions_never_decompress_their_articles(
    decompressions: list[int],
) -> None:
    with ZimReader(RAY) as reader:
        searcher = ZimSearcher(reader)
        found = searcher.full_text("ray charles", 0, 10)
        titles = searcher.suggestions("ray", 8)
        hits = [searcher.hit(path) for path in [*found.paths, *titles]]
    assert found.paths and titles and all(hit is not None for hit in hits)
    assert decompressions == []


def test_a_hit_follows_redirects_to_its_article(tmp_path: Path) -> None:
    with ZimReader(RAY) as reader:
        searcher = ZimSearcher(reader)
        hit = searcher.hit("A/(The_Night_Time_Is)_The_Right_Time")
        entry = reader.entry("A/(The_Night_Time_Is)_The_Right_Time")
        assert hit is not None and entry is not None and entry.redirects
        assert (hit.path, hit.title) == (entry.path, entry.title)
        assert searcher.hit("A/No_such_article") is None


def test_suggestions_are_the_first_paths_the_titles_search_finds() -> None:
    with ZimReader(RAY) as reader:
        searcher = ZimSearcher(reader)
        assert searcher.suggestions("ray", 8) == searcher.titles("ray", 0, 8).paths
        assert searcher.suggestions("  ", 8) == []


def test_a_short_window_counts_its_matches_exactly() -> None:
    with ZimReader(RAY) as reader:
        searcher = ZimSearcher(reader)
        every = searcher.titles("ray", 0, 1000)
        assert 0 < len(every.paths) < 1000 and every.estimate == len(every.paths)
        tail = searcher.titles("ray", len(every.paths) - 3, 10)
        assert tail.paths == every.paths[-3:] and tail.estimate == len(every.paths)
        first = searcher.titles("ray", 0, 2)  # a full window: libzim's estimate
        assert len(first.paths) == 2 and first.estimate >= 2
