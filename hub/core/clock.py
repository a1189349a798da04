"""The hub's wall clock, which is not to be trusted: a Raspberry Pi has no real-time clock.

Two rules. The hub never takes a wall time earlier than the last one it saw (kept in
`clock.json` in the data dir): from the last time seen, its time runs on with the monotonic
clock, so a Pi that boots in 1970, or a year behind after a power cut, still counts forward
from the times it already wrote. And a signed-in coach's or operator's
browser may move the clock forward when the hub is clearly behind: never backwards, never to
before what the hub has seen, never further than `clock_max_ahead_days` past the latest time
the hub can vouch for, and every correction is written down (`clock-corrections.jsonl`).

An operator may undo a correction: the clock goes back by what that correction added, and a
device that tries to add the same amount again is refused. Events recorded in between keep
their times and their order: the event log's hybrid logical clock resumes after its newest
stamp whatever this clock says (sync/hlc.py), so only wall times are taken back.

Setting the system clock needs CAP_SYS_TIME. On the appliance the systemd unit grants the hub
that one capability (see raspberrypi/systemd/learnhub.service) and the hub calls
clock_settime itself: `sudo` is impossible under NoNewPrivileges, and systemd-timedated would
need polkit and refuses while NTP is enabled. Tests inject the setter.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from content import durable
from hub.core.translate import gettext

log = logging.getLogger(__name__)

STATE_FILE = "clock.json"
LOG_FILE = "clock-corrections.jsonl"
# Behind by more than this, and a browser may correct the hub.
CORRECTION_THRESHOLD = 300.0
# "Last seen" is written at most this often: an SD card is worn by small frequent writes.
PERSIST_EVERY = 600.0
# A browser time outside these bounds is a broken device, not a correction.
EARLIEST = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
# Offsets of undone corrections kept, so that the same wrong device is refused next time.
UNDONE_KEPT = 8


class ClockError(Exception):
    """The clock cannot be corrected; str() is one sentence for the person who tried."""


def set_system_clock(epoch: float) -> None:
    """Set CLOCK_REALTIME (needs CAP_SYS_TIME)."""
    try:
        time.clock_settime(time.CLOCK_REALTIME, epoch)
    except PermissionError:
        raise ClockError(
            gettext(
                "The hub is not allowed to set its clock (it needs the CAP_SYS_TIME capability; "
                "see the operator guide)."
            )
        ) from None


@dataclass(frozen=True)
class Correction:
    changed: bool
    # "corrected", "in_sync", "hub_ahead", "before_last_seen", "too_far_ahead",
    # "undone_before" (the same amount an operator took back), or "undone" (by undo_last)
    reason: str
    hub_time: float  # the hub's trusted time after the call
    behind: float  # how far the hub's wall clock was behind the browser, in seconds


class HubClock:
    """Trusted time for one data dir. Thread-safe; one per app."""

    def __init__(
        self,
        data_dir: Path,
        wall: Callable[[], float] = time.time,
        setter: Callable[[float], None] = set_system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        max_ahead_days: float = 730,
        installed_at: float | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.wall = wall
        self.setter = setter
        self._monotonic = monotonic
        self.max_ahead = max_ahead_days * DAY
        # The hub's software was installed over the internet, so with a right clock: the
        # time is at least then even when the hub has seen nothing yet.
        self.installed_at = _installed_at() if installed_at is None else installed_at
        self._lock = threading.Lock()
        self._last_seen, self._undone = self._read_state()
        self._seen_at = monotonic()
        self._written = self._last_seen

    @property
    def last_seen(self) -> float:
        return self._last_seen

    def now(self) -> float:
        """The wall clock, but never earlier than the last time seen plus the time elapsed
        since (by the monotonic clock, which no one sets)."""
        with self._lock:
            return self._observe(self.wall())

    def behind(self) -> float:
        """Seconds the wall clock is behind the hub's trusted time (0 when it is not)."""
        wall = self.wall()
        with self._lock:
            return max(0.0, self._observe(wall) - wall)

    def _observe(self, wall: float) -> float:
        mono = self._monotonic()
        floor = self._last_seen + max(0.0, mono - self._seen_at) if self._last_seen else 0.0
        self._last_seen, self._seen_at = max(wall, floor), mono
        if self._last_seen - self._written >= PERSIST_EVERY:
            self._persist()
        return self._last_seen

    def correct(self, browser_time: float, who: str, role: str, client: str = "") -> Correction:
        """Move the clock forward to a staff member's browser time when the hub is behind by
        more than CORRECTION_THRESHOLD. Raises ClockError when the setter refuses."""
        if not (math.isfinite(browser_time) and EARLIEST <= browser_time <= LATEST):
            raise ValueError("browser time out of range")
        with self._lock:
            wall = self.wall()
            behind = browser_time - wall
            trusted = self._observe(wall)
            if behind <= CORRECTION_THRESHOLD:
                reason = "in_sync" if behind >= -CORRECTION_THRESHOLD else "hub_ahead"
                return Correction(False, reason, trusted, behind)
            if browser_time < self._last_seen:
                return Correction(False, "before_last_seen", trusted, behind)
            if browser_time > max(trusted, EARLIEST, self.installed_at) + self.max_ahead:
                return Correction(False, "too_far_ahead", trusted, behind)
            if any(abs(behind - undone) <= CORRECTION_THRESHOLD for undone in self._undone):
                return Correction(False, "undone_before", trusted, behind)
            self.setter(browser_time)
            self._last_seen, self._seen_at = browser_time, self._monotonic()
            self._persist()
            self._record(
                {
                    "at": _iso(browser_time),
                    "hub_clock_was": _iso(wall),
                    "by": who,
                    "role": role,
                    "client": client,
                }
            )
            log.warning("clock moved forward by %.0f s by %s (%s)", behind, who, role)
            return Correction(True, "corrected", browser_time, behind)

    def undo_last(self, who: str, role: str) -> Correction:
        """Take back the newest correction not yet undone: the clock goes back by what it
        added. Raises ClockError when there is none, or when the setter refuses."""
        with self._lock:
            entry, added = self._standing()
            wall = self.wall()
            trusted = self._observe(wall)
            back = wall
            if wall >= _epoch(entry["at"]):  # the system clock still counts from that setting
                back = wall - added
                self.setter(back)
            # Else something set it since (NTP, a restart): leave it, and only stop vouching
            # for the time that correction added.
            self._last_seen, self._seen_at = max(back, trusted - added), self._monotonic()
            self._undone = [*self._undone, added][-UNDONE_KEPT:]
            self._persist()
            self._record(
                {"undone": entry["at"], "at": _iso(self._last_seen), "hub_clock_was": _iso(trusted)}
                | {"by": who, "role": role}
            )
            log.warning("clock correction of %s undone by %s (%s)", entry["at"], who, role)
            return Correction(True, "undone", self._last_seen, -added)

    def corrections(self, limit: int = 5) -> list[dict[str, Any]]:
        """The most recent corrections and undos, newest first."""
        return list(itertools.islice(self._journal(), limit))

    def _journal(self) -> Iterator[dict[str, Any]]:
        """The journal's entries, newest first (parsed only as far as they are read)."""
        path = self.data_dir / LOG_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry

    def _standing(self) -> tuple[dict[str, Any], float]:
        """The newest correction no undo has taken back, and the seconds it added."""
        undos = 0
        for entry in self._journal():
            if "undone" in entry:
                undos += 1
            elif undos:
                undos -= 1
            elif (added := _added(entry)) is not None:
                return entry, added
        raise ClockError(gettext("There is no clock correction to undo."))

    def _read_state(self) -> tuple[float, list[float]]:
        try:
            value = json.loads((self.data_dir / STATE_FILE).read_text(encoding="utf-8"))
            seen = float(value["last_seen"])
            undone = [float(x) for x in value.get("undone", [])][-UNDONE_KEPT:]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return 0.0, []
        return (seen if math.isfinite(seen) and seen <= LATEST else 0.0), undone

    def _persist(self) -> None:
        path = self.data_dir / STATE_FILE
        state = {"last_seen": self._last_seen, "at": _iso(self._last_seen), "undone": self._undone}
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            durable.write_text(path, json.dumps(state))
        except OSError as err:
            log.warning("cannot save the last time seen in %s: %s", path, err)
            return
        self._written = self._last_seen

    def _record(self, entry: dict[str, Any]) -> None:
        try:
            with open(self.data_dir / LOG_FILE, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:  # the clock is set already; the journal still has the warning
            log.warning("cannot record the clock correction in %s: %s", self.data_dir, err)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _added(entry: dict[str, Any]) -> float | None:
    """Seconds a journal's correction moved the clock forward (None for a damaged line)."""
    try:
        return _epoch(entry["at"]) - _epoch(entry["hub_clock_was"])
    except (KeyError, TypeError, ValueError):
        return None


def _installed_at() -> float:
    try:
        return Path(__file__).stat().st_mtime
    except OSError:
        return 0.0
