"""Python's cycle collector, told what a server keeps for good.

A full collection walks every object that can refer to others, holding the interpreter lock:
every request in flight waits for it. With the app loaded (its modules, routes, templates and
settings: about 60,000 such objects) one took 63 ms on the 2-core dev machine during random
ZIM searches. What starting made lives as long as the process, so once the server is ready
it is moved where the collector no longer looks (`gc.freeze`); a full collection then walks
only what serving made and keeps: 15 ms for the same searches (docs/architecture.md).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle() -> int:
    """Collect what starting left behind, then set aside every object alive now: call once,
    when the server is ready to serve. Returns how many were set aside."""
    gc.collect()
    gc.freeze()
    count = gc.get_freeze_count()
    log.info("%d objects made while starting are left out of the garbage collector's walks", count)
    return count
