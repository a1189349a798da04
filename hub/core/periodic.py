"""One way to run something in the background every so often: `PeriodicWorker`.

The hub's background loops (the systemd watchdog, the mDNS advertiser, the sync with central)
are all "do a round, wait, again, until told to stop". They share this class, so each stops
at once when asked, outlives any failure of a round, and takes a `wait` a test can replace:
with it a test counts rounds instead of sleeping (tests/waiting.py's `Rounds`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicWorker:
    """Runs `work()` on a named daemon thread, then waits `every` seconds (a number, or a
    callable asked after each round, for loops that back off), until `stop()`.

    `wait(seconds)` is how the loop pauses; it returns True to end the loop. By default it
    waits on the worker's own stop event, so `stop()` ends a pause at once; an injected wait
    is checked against that event after it returns. With `wait_first` the loop pauses before
    its first round (the sync waits for the hub to settle). `on_exit` runs on the worker's
    thread after its last round, so whatever `work` opened is closed by the thread using it.
    An exception from `work` is logged and the loop goes on: a background job must never take
    the hub down, and the next round is the retry.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        every: float | Callable[[], float],
        *,
        wait: Callable[[float], bool] | None = None,
        wait_first: bool = False,
        on_exit: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self._work = work
        self._every = every
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._wait_first = wait_first
        self._on_exit = on_exit
        self._thread: threading.Thread | None = None

    def delay(self) -> float:
        """Seconds until the next round."""
        return self._every() if callable(self._every) else self._every

    def start(self) -> PeriodicWorker:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait up to `timeout` seconds for the thread (a round under
        way finishes first). Safe to call from the worker's own thread, and more than once."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The loop itself, on the calling thread (start() runs it on a new one)."""
        try:
            if self._wait_first and self._pause():
                return
            while not self._stop.is_set():
                self._round()
                if self._pause():
                    return
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _round(self) -> None:
        try:
            self._work()
        except Exception:  # logged, and the next round is the retry
            log.exception("%s: a round failed; the next round tries again", self.name)

    def _pause(self) -> bool:
        """Wait for the next round; True when the loop should end."""
        return bool(self._wait(self.delay())) or self._stop.is_set()
