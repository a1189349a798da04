"""Memory of a server process over a bench run: resident size when idle and after each load
(VmRSS), and the most it ever held (VmHWM, the kernel's high-water mark, so a spike between
two readings is not missed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from benchlib.server import HubServer


@dataclass
class MemoryLog:
    server: HubServer
    readings: dict[str, int] = field(default_factory=dict)  # label -> VmRSS bytes

    def mark(self, label: str) -> int:
        """VmRSS now, kept under `label`."""
        self.readings[label] = rss = self.server.rss_bytes()
        return rss

    def peak(self) -> int:
        return self.server.peak_rss_bytes()

    def growth(self) -> list[tuple[str, int]]:
        """(label, bytes more than the reading before) in order: which load makes it grow."""
        labels = list(self.readings)
        return [
            (label, self.readings[label] - self.readings[before])
            for before, label in itertools.pairwise(labels)
        ]
