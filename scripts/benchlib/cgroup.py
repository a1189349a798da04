"""A memory- and CPU-limited control group to run the hub in, as on a small Raspberry Pi.

The group is made as a child of the cgroup this process is in (so whatever limits that one
has still apply), limited, and removed afterwards; a command is started inside it by a
shell that moves itself in before it execs the command, so every byte the command ever
allocates is charged to the group.

Two kinds of machine: cgroup v2 with the memory controller (a Raspberry Pi OS, most recent
distributions: memory.max, memory.swap.max, cpu.max, memory.peak, memory.events), and the
hybrid layout where memory and cpu are v1 hierarchies (memory.limit_in_bytes,
memory.memsw.limit_in_bytes, cpu.cfs_quota_us, memory.max_usage_in_bytes,
memory.oom_control). Anything else is a CgroupError that says what is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
PERIOD_US = 100_000
# A Raspberry Pi 4 core does about 1/3.5 of this kind of machine's core (NOTES.md: 3-4x
# slower per core): the hub is held to that share of one core.
PI4_SLOWDOWN = 3.5
PI4_CORE = 1 / PI4_SLOWDOWN
_names = itertools.count()


class CgroupError(Exception):
    """No limited group can be made here; str() says why in one sentence."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpu_cores: float | None  # cores of this machine the group may use; None: no CPU limit

    def describe(self) -> str:
        cpu = "no CPU limit"
        if self.cpu_cores is not None:
            cpu = f"CPU {self.cpu_cores:.3f} core ({self.quota_us()} us per {PERIOD_US} us)"
        return f"memory {self.memory_bytes // MiB} MiB, no swap, {cpu}"

    def quota_us(self) -> int:
        return round((self.cpu_cores or 0) * PERIOD_US)


@dataclass(frozen=True)
class Usage:
    peak_bytes: int | None  # the group's high-water mark (page cache included), if kept
    oom_kills: int  # processes the kernel's OOM killer ended inside the group


class LimitedGroup:
    """`with LimitedGroup(limits) as group: Popen(group.wrap(command))`; only ever removes
    the directories it made."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.name = f"learnhub-bench-{os.getpid()}-{next(_names)}"
        self.kind = ""
        self.dirs: list[Path] = []  # made here, removed on exit

    def __enter__(self) -> LimitedGroup:
        unified = _unified_parent()
        if unified is not None:
            self._make_v2(unified)
        else:
            self._make_v1()
        return self

    def __exit__(self, *exc: object) -> None:
        for directory in reversed(self.dirs):
            _empty(directory)
            with contextlib.suppress(OSError):
                directory.rmdir()

    def wrap(self, command: list[str]) -> list[str]:
        moves = " && ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{moves} && exec "$@"', "sh", *command]

    def usage(self) -> Usage:
        if self.kind == "v2":
            group = self.dirs[0]
            peak = group / "memory.peak"
            return Usage(
                int(peak.read_text()) if peak.exists() else None,
                _field(group / "memory.events", "oom_kill"),
            )
        memory = self.dirs[0]
        return Usage(
            int((memory / "memory.max_usage_in_bytes").read_text()),
            _field(memory / "memory.oom_control", "oom_kill"),
        )

    def _make_v2(self, parent: Path) -> None:
        wanted = ["memory"] + (["cpu"] if self.limits.cpu_cores is not None else [])
        _enable(parent, wanted)
        group = self._mkdir(parent / self.name)
        _write(group / "memory.max", str(self.limits.memory_bytes))
        _write(group / "memory.swap.max", "0", optional=True)
        if self.limits.cpu_cores is not None:
            _write(group / "cpu.max", f"{self.limits.quota_us()} {PERIOD_US}")
        self.kind = "v2"

    def _make_v1(self) -> None:
        memory = self._mkdir(_v1_parent("memory") / self.name)
        _write(memory / "memory.limit_in_bytes", str(self.limits.memory_bytes))
        # memory + swap, set to the same: no swap. Missing when swap accounting is off.
        _write(memory / "memory.memsw.limit_in_bytes", str(self.limits.memory_bytes), optional=True)
        if self.limits.cpu_cores is not None:
            cpu = self._mkdir(_v1_parent("cpu") / self.name)
            _write(cpu / "cpu.cfs_period_us", str(PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(self.limits.quota_us()))
        self.kind = "v1"

    def _mkdir(self, path: Path) -> Path:
        try:
            path.mkdir()
        except OSError as err:
            self.__exit__()
            raise CgroupError(f"cannot make the control group {path}: {err.strerror}") from None
        self.dirs.append(path)
        return path


def _empty(group: Path, seconds: float = 5.0) -> None:
    """Kill what is still inside the group (only ever processes this bench started in it),
    so the group can be removed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _write(path: Path, value: str, optional: bool = False) -> None:
    if optional and not path.exists():
        return
    try:
        path.write_text(value)
    except OSError as err:
        raise CgroupError(f"cannot write {value!r} to {path}: {err.strerror}") from None


def _field(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return int(value)
    return 0


def _mounts(kind: str) -> list[tuple[str, set[str]]]:
    """(mount point, options) of every mount of filesystem type `kind`."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype, options, *_ = line.split()
        if fstype == kind:
            found.append((point, set(options.split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """{controller or "" for v2: this process's cgroup path} from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _unified_parent() -> Path | None:
    """This process's v2 group, when the memory controller is available there."""
    mounts = _mounts("cgroup2")
    path = _own_paths().get("")
    if not mounts or path is None:
        return None
    parent = Path(mounts[0][0]) / path.lstrip("/")
    controllers = (parent / "cgroup.controllers").read_text().split()
    return parent if "memory" in controllers else None


def _v1_parent(controller: str) -> Path:
    path = _own_paths().get(controller)
    point = next((p for p, options in _mounts("cgroup") if controller in options), None)
    if point is None or path is None:
        raise CgroupError(
            f"no cgroup v2 memory controller and no v1 {controller} hierarchy is mounted here"
        )
    return Path(point) / path.lstrip("/")


def _enable(parent: Path, controllers: list[str]) -> None:
    control = parent / "cgroup.subtree_control"
    enabled = control.read_text().split()
    for controller in controllers:
        if controller not in enabled:
            # v2 refuses this in a group that holds processes itself, other than the root.
            _write(control, f"+{controller}")
