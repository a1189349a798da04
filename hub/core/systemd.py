"""Telling systemd how the hub is doing: readiness, watchdog pings and stopping (sd_notify).

The protocol is one datagram per message to the unix socket named in $NOTIFY_SOCKET; written
here in a few lines rather than adding a dependency. Outside systemd (no $NOTIFY_SOCKET) every
call does nothing, so `learnhub serve` behaves the same from a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping

from hub.core.periodic import PeriodicWorker

log = logging.getLogger(__name__)


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one message ("READY=1", "WATCHDOG=1", ...); False when not run by systemd."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":  # an abstract socket: the name starts with a NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as err:
        # systemd restarting or gone: the hub keeps serving; the watchdog will tell.
        log.debug("sd_notify %r failed: %s", message, err)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of $WATCHDOG_USEC), or None when no watchdog is asked for
    this process."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
        pid = int(env.get("WATCHDOG_PID", "0") or 0)
    except ValueError:
        return None
    if usec <= 0 or (pid and pid != os.getpid()):
        return None
    return usec / 1_000_000 / 2


class Watchdog:
    """Sends WATCHDOG=1 every `interval` seconds while `healthy()`, on a daemon thread
    (hub.core.periodic; `wait` is there for tests)."""

    def __init__(
        self,
        interval: float,
        healthy: Callable[[], bool] = lambda: True,
        send: Callable[[str], bool] = notify,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.interval = interval
        self._healthy = healthy
        self._send = send
        self.worker = PeriodicWorker("sd-watchdog", self._ping, interval, wait=wait)

    def start(self) -> Watchdog:
        self.worker.start()
        return self

    def stop(self) -> None:
        self.worker.stop(timeout=self.interval + 1)

    def _ping(self) -> None:
        # Not healthy: no ping, so systemd restarts a hub that hangs.
        if self._healthy():
            self._send("WATCHDOG=1")


_watchdog: Watchdog | None = None


def notify_ready(
    status: str = "",
    healthy: Callable[[], bool] = lambda: True,
    *,
    wait: Callable[[float], bool] | None = None,
) -> None:
    """The hub answers requests: tell systemd (Type=notify), and start the watchdog pings
    when the unit asks for them (WatchdogSec=). `wait` is the watchdog's pause, for tests."""
    global _watchdog
    notify("READY=1" + (f"\nSTATUS={status}" if status else ""))
    interval = watchdog_interval()
    if interval is not None and _watchdog is None:
        _watchdog = Watchdog(interval, healthy, wait=wait).start()


def notify_stopping() -> None:
    """The hub is shutting down: stop pinging, so a slow stop is not taken for a hang."""
    global _watchdog
    notify("STOPPING=1")
    if _watchdog is not None:
        _watchdog.stop()
        _watchdog = None
