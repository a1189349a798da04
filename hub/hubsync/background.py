"""The background thread that syncs whenever central can be reached, started by
`learnhub serve` when central_url is set."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from hub.core.bounded_http import Bounds
from hub.core.periodic import PeriodicWorker
from hub.hubsync.central_client import CentralClient
from hub.hubsync.push import push
from hub.hubsync.service import SyncError, SyncService

log = logging.getLogger(__name__)

PROBE_SECONDS = 10.0  # the background probe: central answers /healthz at once or not at all


class BackgroundSync:
    """Tries `attempt` every `interval` seconds; after a failure, sooner at first, then less
    and less often (exponential backoff with jitter, capped at the interval). It only ever
    waits on an Event (hub.core.periodic), so it never spins and stops at once when asked."""

    FIRST_DELAY = 10.0
    BASE = 15.0

    def __init__(
        self,
        attempt: Callable[[], Any],
        interval: float,
        *,
        wait: Callable[[float], bool] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.attempt = attempt
        self.interval = max(float(interval), self.BASE)
        self._jitter = jitter
        self.failures = 0
        self._next: float | None = None  # None until the first attempt: FIRST_DELAY
        # Waits first: the hub has just started and central need not be asked at once.
        self.worker = PeriodicWorker(
            "learnhub-sync", self._attempt, self._delay, wait=wait, wait_first=True
        )

    def delay_after(self, failures: int) -> float:
        if failures == 0:
            return self.interval
        backoff = min(self.interval, self.BASE * 2 ** (failures - 1))
        return backoff * (0.5 + self._jitter() / 2)

    def _delay(self) -> float:
        # Read at each pause, not fixed at construction, so FIRST_DELAY may be changed.
        return self.FIRST_DELAY if self._next is None else self._next

    def _attempt(self) -> None:
        try:
            self.attempt()
        except Exception as err:  # the thread must outlive any failure; it is logged
            self.failures += 1
            self._next = self.delay_after(self.failures)
            log.info("sync: attempt failed (%s); next try in %.0f seconds", err, self._next)
        else:
            self.failures = 0
            self._next = self.delay_after(0)

    def run(self) -> None:
        """The loop on the calling thread (tests); start() runs it on its own."""
        self.worker.run()

    def start(self) -> BackgroundSync:
        self.worker.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.worker.stop(timeout)


def background_attempt(service: SyncService, url: str) -> Callable[[], None]:
    """Probe central; push only when it answers (an unreachable central costs one request)."""

    def attempt() -> None:
        client = CentralClient(url, bounds=Bounds.of(service.config), timeout=PROBE_SECONDS)
        if not client.healthz():
            service.note_attempt(f"Central at {url} cannot be reached.")
            raise SyncError(f"Central at {url} cannot be reached.")
        push(service, url)

    return attempt


def start_background(service: SyncService) -> BackgroundSync | None:
    """Started by `learnhub serve` when central_url is set; None otherwise."""
    url = service.config.central_url
    if not url:
        return None
    worker = BackgroundSync(background_attempt(service, url), service.config.sync_interval)
    log.info("sync: syncing with %s every %s seconds", url, worker.interval)
    return worker.start()
