"""The hybrid logical clock: strictly increasing whatever the wall clock does."""

from __future__ import annotations

import sys
import threading

import pytest

from sync.hlc import COUNTER_MAX, HybridClock, pack, unpack

YEAR_MS = 365 * 24 * 3600 * 1000
NOV_2026 = 1_795_000_000_000  # ms since the epoch


class FakeWall:
    """A wall clock the test sets, as a Pi's clock jumps after a bad NTP fix or a cold boot."""

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def __call__(self) -> int:
        return self.millis


def test_pack_and_unpack_keep_millis_and_counter_and_sort_like_them() -> None:
    assert unpack(pack(NOV_2026, 7)) == (NOV_2026, 7)
    assert unpack(pack(0, COUNTER_MAX)) == (0, COUNTER_MAX)
    assert pack(NOV_2026, COUNTER_MAX) < pack(NOV_2026 + 1, 0)
    assert pack(NOV_2026, 1) < pack(NOV_2026, 2)


def test_ticks_follow_a_wall_clock_that_moves_forward() -> None:
    wall = FakeWall(NOV_2026)
    clock = HybridClock(now=wall)
    first = clock.tick()
    assert unpack(first) == (NOV_2026, 0)
    wall.millis += 5
    assert unpack(clock.tick()) == (NOV_2026 + 5, 0)


def test_ticks_in_one_millisecond_use_the_counter() -> None:
    clock = HybridClock(now=FakeWall(NOV_2026))
    stamps = [clock.tick() for _ in range(100)]
    assert [unpack(s) for s in stamps] == [(NOV_2026, n) for n in range(100)]


def test_monotonic_when_the_wall_clock_is_set_back_years() -> None:
    wall = FakeWall(NOV_2026)
    clock = HybridClock(now=wall)
    before = [clock.tick() for _ in range(10)]
    wall.millis = NOV_2026 - 5 * YEAR_MS  # fake-hwclock restored an old date
    after = [clock.tick() for _ in range(10)]
    wall.millis = 0  # no RTC and no network: 1970
    later = [clock.tick() for _ in range(10)]
    stamps = before + after + later
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # Time "stands still" at the newest millisecond seen until the wall clock catches up.
    assert unpack(later[-1])[0] == NOV_2026
    wall.millis = NOV_2026 + 1000
    assert unpack(clock.tick()) == (NOV_2026 + 1000, 0)


def test_restored_from_the_last_stamp_it_never_goes_back() -> None:
    first = HybridClock(now=FakeWall(NOV_2026))
    last = [first.tick() for _ in range(3)][-1]
    restarted = HybridClock(last=last, now=FakeWall(NOV_2026 - 10 * YEAR_MS))
    assert restarted.tick() > last
    assert restarted.last > last


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    wall = FakeWall(NOV_2026 - YEAR_MS)
    clock = HybridClock(last=pack(NOV_2026, COUNTER_MAX - 1), now=wall)
    full = clock.tick()
    assert unpack(full) == (NOV_2026, COUNTER_MAX)
    overflowed = clock.tick()
    assert unpack(overflowed) == (NOV_2026 + 1, 0)
    assert overflowed > full
    # When the wall clock reaches the borrowed millisecond, the counter goes on from there.
    wall.millis = NOV_2026 + 1
    assert unpack(clock.tick()) == (NOV_2026 + 1, 1)


def test_a_burst_past_the_counter_stays_unique_and_ordered() -> None:
    clock = HybridClock(now=FakeWall(NOV_2026))
    stamps = [clock.tick() for _ in range(3 * (COUNTER_MAX + 1))]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert unpack(stamps[-1]) == (NOV_2026 + 2, COUNTER_MAX)


def test_observe_moves_past_a_remote_stamp_from_the_future() -> None:
    clock = HybridClock(now=FakeWall(NOV_2026))
    local = clock.tick()
    remote = pack(NOV_2026 + YEAR_MS, 41)  # another hub whose clock runs ahead
    merged = clock.observe(remote)
    assert merged > remote > local
    assert unpack(merged) == (NOV_2026 + YEAR_MS, 42)
    assert clock.tick() > merged


def test_observe_of_an_older_stamp_still_advances() -> None:
    clock = HybridClock(now=FakeWall(NOV_2026))
    local = clock.tick()
    merged = clock.observe(pack(NOV_2026 - YEAR_MS, 9))
    assert merged > local
    assert unpack(merged) == (NOV_2026, 1)


def test_observe_with_an_overflowing_remote_counter() -> None:
    clock = HybridClock(now=FakeWall(0))
    merged = clock.observe(pack(NOV_2026, COUNTER_MAX))
    assert unpack(merged) == (NOV_2026 + 1, 0)


@pytest.fixture
def eager_thread_switching():
    """Switch threads every microsecond, so a missing lock shows up as duplicate stamps (with
    the default 5 ms interval an unlocked clock passes this test)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_thread_safe_under_many_threads(eager_thread_switching) -> None:
    wall = FakeWall(NOV_2026)
    clock = HybridClock(now=wall)
    per_thread, threads = 2000, 32
    results: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        start.wait()
        for n in range(per_thread):
            if n % 500 == 0:
                wall.millis -= 1  # the wall clock wobbles backwards mid-run
            if n % 300 == 0:
                results[index].append(clock.observe(pack(wall.millis, n)))
            else:
                results[index].append(clock.tick())

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = [stamp for stamps in results for stamp in stamps]
    assert len(every) == per_thread * threads
    assert len(set(every)) == len(every)  # no two threads ever got the same stamp
    for stamps in results:
        assert stamps == sorted(stamps)  # and each thread saw its own stamps rise
    assert clock.last == max(every)
