"""Which CPU the server's threads run on (the `one_cpu` setting).

Python runs one thread at a time. On a machine with more than one core, a worker thread that
lets go of the interpreter lock (at each SQLite step, each send, each gzip) wakes the others
on the other cores, and they spin and sleep to take it back: measured on 2 cores with random
lesson pages of a 20,000-lesson library, 74 context switches and 0.75 ms of kernel time per
page, 370-490 pages/s. With every thread on one core: 2-3 switches and 0.09 ms, 850-930
pages/s. The other cores stay free for the kernel's network and disk work, for the clients'
own programs on an appliance, for the hub's commands run beside it, and for the hub's own
work that lets go of the lock for long: a thread decompressing a ZIM cluster moves to them
meanwhile (content/zim/clusters.py).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def keep_to_one_cpu() -> frozenset[int] | None:
    """Run this thread, and every thread it starts afterwards, on one CPU: the last of those
    it may use (the first often takes the network card's interrupts). The others it could
    use, for work that lets go of the interpreter lock (content.zim.decompress_on), or None
    where it runs on one already or the system cannot say (no sched_setaffinity)."""
    try:
        allowed = frozenset(os.sched_getaffinity(0))
        if len(allowed) < 2:
            return None
        cpu = max(allowed)
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError) as err:
        log.info("the server's threads run on any CPU (%s)", err)
        return None
    log.info("the server's threads run on CPU %d of %d (setting one_cpu)", cpu, len(allowed))
    return allowed - {cpu}
