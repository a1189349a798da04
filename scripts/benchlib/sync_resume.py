"""Section "sync", the link: what an upload costs when the link drops half-way and comes back.

A real `learnhub central serve` on 127.0.0.1 receives a hub bundle through the hub's own
client (chunked, resumable). One upload runs whole; another is cut off once central has
acknowledged half of it, and a new client resumes it. Reported: bytes sent after the cut
against the bundle's size (resuming from zero would resend all of it), requests and time.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchlib.context import Context
from benchlib.report import MB, SectionResult, info, under
from benchlib.sync_central import bigger, hub_bundle
from hub.hubsync.central_client import CentralClient
from sync.central.db import central_db
from sync.central.hubs import enrol
from sync.central.service import Central
from sync.identity import KeyPair, public_identity

UPLOAD_EVENTS = 200_000  # about 2 MB: weeks of a big school's progress
CHUNK = 32 * 1024  # small chunks, so the cut lands near half of a small bundle


def _central(folder: Path, port: int) -> subprocess.Popen:
    log = open(folder / "central.log", "wb")  # noqa: SIM115 - the server's log, closed with it
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "central",
            "serve",
            "--data",
            str(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("central serve exited before answering")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("central serve did not answer in 60 s")


def _cut_at_half(url: str, bundle: Path, keys: KeyPair) -> tuple[str, int]:
    """Upload until central has acknowledged half, then drop the link: (upload id, acked)."""
    client = CentralClient(url, chunk_size=CHUNK, keys=keys)
    size = bundle.stat().st_size
    upload_id, received = client._open(bundle, size, keys.hub_id)
    while received < size // 2:
        received = client._put(bundle, upload_id, received, size)
    return upload_id, received


def measure_resumed_upload(ctx: Context, result: SectionResult, fx) -> None:
    folder = fx.folder / "central-link"
    folder.mkdir()
    central = Central.open(folder, None)
    central_db.connect(reuse_if_open=True)
    try:
        enrol(public_identity(fx.keys, "Bench hub"))
    finally:
        central.close()
    events = _other_learners(bigger(fx.events, 2 * UPLOAD_EVENTS), len(fx.events))
    whole = hub_bundle(fx.folder, fx.keys, events[:UPLOAD_EVENTS])
    whole = whole.rename(fx.folder / "whole.lhb")
    resumed = hub_bundle(fx.folder, fx.keys, events[UPLOAD_EVENTS:])
    size = resumed.stat().st_size
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _central(folder, port)
    try:
        _wait(url, server)
        ctx.say(f"sync: upload of {whole.stat().st_size / MB:.1f} MB, whole and cut at 50%")
        # Signed as the hub central enrolled above: central refuses unsigned sync calls.
        client = CentralClient(url, keys=fx.keys)
        began = time.perf_counter()
        client.upload(whole, None, lambda _id: None, fx.keys.hub_id)
        whole_seconds = time.perf_counter() - began
        upload_id, acked = _cut_at_half(url, resumed, fx.keys)
        again = CentralClient(url, chunk_size=CHUNK, keys=fx.keys)
        began = time.perf_counter()
        answer = again.upload(resumed, upload_id, lambda _id: None, fx.keys.hub_id)
        resume_seconds = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    left = size - acked
    # Only what central had not acknowledged goes again (and a few small JSON requests).
    waste = (again.counters.sent - left) / size
    result.raw.update(
        upload_bytes=size,
        acked_at_cut=acked,
        resent_bytes=again.counters.sent,
        resume_requests=again.counters.requests,
        resume_seconds=resume_seconds,
        whole_seconds=whole_seconds,
        resumed_receipt=json.dumps(answer.get("receipt")),
    )
    result.add(
        info(
            "upload of a whole bundle over loopback",
            whole_seconds,
            f"{whole.stat().st_size / MB:.1f} MB in {whole_seconds:.2f} s",
        )
    )
    shown = (
        f"cut at {acked / size:.0%} of {size / MB:.2f} MB; resume sent {again.counters.sent:,} B "
        f"for the {left:,} B left, {again.counters.requests} requests, {resume_seconds:.2f} s"
    )
    result.add(
        under("resumed upload after a cut at 50%", waste, shown, 0.01, "resends < 1% of bundle")
    )


def _other_learners(events: list, round_size: int) -> list:
    """Each repeat of the section's events by other learners: plain repeats would compress
    unrealistically well (and trip the bundle reader's bomb guard)."""
    varied = []
    for at, event in enumerate(events):
        salt = (at // round_size).to_bytes(4, "big")
        uid = hashlib.blake2b(bytes.fromhex(event.learner_uid) + salt, digest_size=16).hexdigest()
        varied.append(event._replace(learner_uid=uid))
    return varied


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MEASURES = [measure_resumed_upload]
