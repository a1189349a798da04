"""A stand-in central server for the hub's HTTP tests: the upload protocol of the real one
(POST/PUT/GET uploads, finish, replies with Range), served by waitress on 127.0.0.1 in a
thread. It can drop the link once, when an upload passes half its size:

- "lost": the chunk that crosses the middle never arrives (the hub must send it again);
- "ack_lost": central keeps that chunk but its answer is cut (the hub must ask, not resend).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress
from flask import Flask, Response, abort, jsonify, request, send_file
from waitress import wasyncore

from sync.bundle import read_bundle
from sync.identity import KeyPair, public_identity
from sync.receipts import sign_receipt
from tests.sync_hub_helpers import central_id, receipt, write_reply


@dataclass
class Upload:
    size: int
    sha256: str
    data: bytearray = field(default_factory=bytearray)


class FakeCentral:
    def __init__(self, keys: KeyPair, hub_keys: KeyPair, folder: Path, cut: str | None = None):
        self.keys = keys
        self.hub_keys = hub_keys
        self.folder = folder
        self.cut = cut
        self.uploads: dict[str, Upload] = {}
        self.puts: list[tuple[str, int, int]] = []  # (upload id, start, length) of every PUT
        self.put_bytes = 0  # body bytes that reached central in PUTs
        self.finished: list[str] = []
        self.reply_extra: dict[str, Any] = {}  # roster, packs, blobs for the next replies
        self.high_water: dict[str, int] = {}
        self.bundles: list[str] = []
        self.healthy = True
        self.reply_size: int | None = None  # set: every reply is this many zeros, streamed
        self.app = self._build()
        self.server = waitress.create_server(self.app, host="127.0.0.1", port=0, threads=2)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeCentral:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # Closed from inside the server's own loop: closing its sockets from this thread
        # while it polls them makes the loop fail with "bad file descriptor".
        self.server.trigger.pull_trigger(self._stop)
        self.thread.join(10)
        assert not self.thread.is_alive()

    def _stop(self) -> None:
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self.server._map)

    def identity(self) -> dict[str, Any]:
        return {**public_identity(self.keys, "Fake central"), "central_id": central_id(self.keys)}

    def _build(self) -> Flask:
        app = Flask(__name__)

        @app.get("/healthz")
        def healthz() -> Any:
            if not self.healthy:
                abort(503)
            return {"status": "ok"}

        @app.get("/api/sync/identity")
        def identity() -> Any:
            return self.identity()

        @app.post("/api/sync/uploads")
        def open_upload() -> Any:
            body = request.get_json()
            upload_id = secrets.token_hex(8)
            self.uploads[upload_id] = Upload(body["size"], body["sha256"])
            return jsonify({"upload_id": upload_id, "received": 0}), 201

        @app.get("/api/sync/uploads/<upload_id>")
        def upload_state(upload_id: str) -> Any:
            upload = self.uploads.get(upload_id) or abort(404)
            return {"received": len(upload.data)}

        @app.put("/api/sync/uploads/<upload_id>")
        def put_chunk(upload_id: str) -> Any:
            upload = self.uploads.get(upload_id) or abort(404)
            span, _, total = request.headers["Content-Range"].removeprefix("bytes ").partition("/")
            start, end = (int(n) for n in span.split("-"))
            body = request.get_data()
            self.put_bytes += len(body)
            self.puts.append((upload_id, start, len(body)))
            assert int(total) == upload.size and end - start + 1 == len(body)
            if start != len(upload.data):
                return jsonify({"received": len(upload.data)}), 409
            crosses = start < upload.size / 2 <= start + len(body)
            if self.cut and crosses:
                mode, self.cut = self.cut, None
                if mode == "ack_lost":
                    upload.data += body
                return Response(_cut_short(), mimetype="application/json")
            upload.data += body
            return {"received": len(upload.data)}

        @app.post("/api/sync/uploads/<upload_id>/finish")
        def finish(upload_id: str) -> Any:
            upload = self.uploads.get(upload_id) or abort(404)
            data = bytes(upload.data)
            if len(data) != upload.size or hashlib.sha256(data).hexdigest() != upload.sha256:
                return {"error": {"code": "bad_upload", "message": "Bytes do not match."}}, 400
            path = self.folder / f"in-{upload_id}.lhb"
            path.write_bytes(data)
            bundle = read_bundle(path, self.hub_keys.public_key)
            manifest = bundle.manifest
            epoch = manifest["epoch"]
            if manifest["seq"]:
                last = manifest["seq"]["last"]
                self.high_water[epoch] = max(self.high_water.get(epoch, 0), last)
            self.bundles.append(bundle.bundle_id)
            self.finished.append(upload_id)
            doc = receipt(manifest["hub_id"], epoch, self.high_water.get(epoch, 0), self.bundles)
            reply = write_reply(
                self.folder / "replies",
                self.keys,
                manifest["hub_id"],
                epoch,
                receipts=[doc],
                **self.reply_extra,
            )
            return {
                "receipt": sign_receipt(self.keys, doc),
                "reply_url": f"/api/sync/replies/{reply.name}",
            }

        @app.get("/api/sync/replies/<name>")
        def reply(name: str) -> Any:
            if self.reply_size is not None:
                headers = {"Content-Length": str(self.reply_size)}
                return Response(self._zeros(self.reply_size), headers=headers)
            path = self.folder / "replies" / name
            if not path.is_file():
                abort(404)
            return send_file(path, conditional=True)

        return app

    def _zeros(self, size: int) -> Iterator[bytes]:
        piece = b"\0" * 65536
        for _ in range(0, size, len(piece)):
            yield piece


def _cut_short() -> Any:
    yield b'{"rece'
    raise ConnectionAbortedError("the satellite link dropped")
