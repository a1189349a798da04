"""The allocator tuning `learnhub serve` applies: large freed blocks go back to the system."""

from __future__ import annotations

import subprocess
import sys

# Frees an 8 MiB block (glibc then raises its mmap threshold to 8 MiB), then allocates and
# frees 30 blocks of 1 MiB with small pinned blocks between them (so the heap cannot shrink
# from its top), and prints how many MB the process kept.
PROGRAM = """
import sys
from hub.core import allocator
if sys.argv[1] == "tuned":
    assert allocator.tune()
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
big = bytearray(8 * 2**20)
del big
before = rss()
blocks, pins = [], []
for _ in range(30):
    blocks.append(bytearray(2**20))
    pins.append(bytearray(64 * 1024 - 1))
blocks.clear()
print(rss() - before)
"""


def kept_megabytes(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_freed_large_blocks_go_back_to_the_system() -> None:
    assert kept_megabytes("default") >= 25  # what glibc does left alone
    assert kept_megabytes("tuned") <= 6
