"""One phone holding a server's connections, for the bench's "slowclients" section:
`attacker.py PORT SOURCE CONNECTIONS SECONDS`.

For SECONDS it holds CONNECTIONS connections to 127.0.0.1:PORT from the address SOURCE: half
send nothing, half drip a request's headers one line a second and never finish them. Each one
the server closes is opened again after a short pause. It prints "ready" once every connection
was opened once, and at the end (or on SIGTERM) one JSON line of counts. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from dataclasses import asdict, dataclass

HOST = "127.0.0.1"
DRIP_SECONDS = 1.0  # one header line per second: never done, never quite idle
PAUSE = 0.5  # before opening a closed connection again, so the attacker does not spin
READY_WAIT = 10.0


@dataclass
class Counts:
    connections: int
    connects: int = 0  # connections opened, first ones and again after a close
    failed: int = 0  # connects that did not succeed at all
    closed_by_server: int = 0
    open_now: int = 0
    open_at_end: int = 0  # open_now when the time was up (a server's per-address share)


async def _held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bool) -> None:
    """Return when the server closes the connection."""
    if drip:
        writer.write(b"GET / HTTP/1.1\r\nHost: hub\r\n")
    line = 0
    while True:
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
            async with asyncio.timeout(DRIP_SECONDS):
                if await reader.read(4096) == b"":
                    return
        except TimeoutError:
            if drip:
                line += 1
                writer.write(b"X-Drip-%d: still here\r\n" % line)
        except OSError:
            return


async def _slot(port: int, source: str, drip: bool, counts: Counts) -> None:
    while True:
        try:
            reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
        except OSError:
            counts.failed += 1
            await asyncio.sleep(PAUSE)
            continue
        counts.connects += 1
        counts.open_now += 1
        try:
            await _held(reader, writer, drip)
        finally:
            counts.open_now -= 1
            writer.close()
        counts.closed_by_server += 1
        await asyncio.sleep(PAUSE)


async def _attack(port: int, source: str, connections: int, seconds: float) -> None:
    counts = Counts(connections)
    slots = [
        asyncio.create_task(_slot(port, source, n % 2 == 1, counts)) for n in range(connections)
    ]
    loop = asyncio.get_running_loop()
    ready_by = loop.time() + READY_WAIT
    while counts.connects + counts.failed < connections and loop.time() < ready_by:
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)  # the bench is done early
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    counts.open_at_end = counts.open_now
    print(json.dumps(asdict(counts)), flush=True)
    for slot in slots:
        slot.cancel()
    await asyncio.wait(slots, timeout=5)


def main(argv: list[str]) -> int:
    port, source, connections, seconds = int(argv[0]), argv[1], int(argv[2]), float(argv[3])
    asyncio.run(_attack(port, source, connections, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
