"""Two real hubs whose classes are partners (4A on Mwanga, 5B on Faraja), as a pairing from
central leaves them, for the letters pages' tests; and how a letter crosses between them
(what a bundle via central does, without central: the sync path has its own e2e test)."""

from __future__ import annotations

import http.client
import json
import struct
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.cli.common import prepare_data_dir
from hub.core.db import connected
from hub.core.settings import load_config
from hub.learning import letters
from hub.learning.letter_models import IN, WAITING, ClassPartner, Letter
from hub.people.models import StaffUser
from hub.people.roster import add_class, add_learner
from hub.web.app import create_app
from tests.conftest import LiveServer
from tests.security_client import Client, Reply

PIN = "2468"
PASSWORD = "a coach's password"


@dataclass
class Hub:
    data: Path
    server: LiveServer
    pair_uid: str  # the pairing of this hub's class with the other hub's

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def paired_hubs(root: Path) -> Iterator[tuple[Hub, Hub]]:
    """Hub Mwanga (4A) and hub Faraja (5B) serving, their classes partners."""
    a, b = root / "mwanga" / "data", root / "faraja" / "data"
    a_class, b_class = make_hub(a, "4A", "Amina"), make_hub(b, "5B", "Chiku")
    pair_a = pair(a, a_class, b_class, "5B", "Faraja")
    pair_b = pair(b, b_class, a_class, "4A", "Mwanga")
    servers = [LiveServer(a), LiveServer(b)]
    try:
        for server in servers:
            server.wait_until_ready()
        yield Hub(a, servers[0], pair_a), Hub(b, servers[1], pair_b)
    finally:
        for server in servers:
            server.stop()


def open_hub(data: Path) -> None:
    """Point this process's hub database at `data` (one hub at a time)."""
    create_app(prepare_data_dir(load_config(data, {"load_samples": False}, environ={})))


def make_hub(data: Path, class_name: str, learner: str) -> str:
    """A hub with a class and its learner, another class with one, and a coach; the class's
    uid."""
    open_hub(data)
    with connected():
        group = add_class(class_name)
        add_learner(learner, pin=PIN, classes=[group])
        add_learner(f"Other of {class_name}", pin=PIN, classes=[add_class(f"{class_name}-other")])
        StaffUser.add(f"Coach of {class_name}", "coach", PASSWORD)
    return group.uid


def pair(data: Path, class_uid: str, partner_uid: str, partner: str, partner_hub: str) -> str:
    """The pairing central's reply leaves on a hub; its uid."""
    open_hub(data)
    with connected():
        pair_uid = uuid.uuid4().hex
        ClassPartner.create(
            uid=pair_uid,
            class_uid=class_uid,
            partner_class_uid=partner_uid,
            partner_class=partner,
            partner_hub=partner_hub,
            state="active",
        )
    return pair_uid


def carry_letter(a: Path, b: Path) -> str:
    """Hub A's approved letters go out in a bundle that central applies, and arrive on B
    waiting for B's coach, as the reply's letters part leaves them; the letter's uid."""
    open_hub(a)
    with connected():
        store = letters.store_of(a)
        out = letters.outgoing(store)
        [letter_id] = out.letters
        record = json.loads(json.dumps(_record(Letter.get_by_id(letter_id))))
        blobs = {
            item["sha256"]: store.path(item["sha256"]).read_bytes()
            for item in record["attachments"]
        }
        letters.bundled(out, "bundle-1")
        letters.at_central({"bundle-1"})
    open_hub(b)
    with connected():
        target = letters.store_of(b)
        for sha, data in blobs.items():
            path = target.path(sha)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        Letter.create(
            uid=record["uid"],
            direction=IN,
            class_uid=record["to_class"],
            partner_class_uid=record["from_class"],
            language=record["language"],
            text=record["text"],
            attachments=json.dumps(record["attachments"]),
            hlc=record["hlc"],
            state=WAITING,
        )
    return str(record["uid"])


def _record(letter: Letter) -> dict[str, object]:
    return {
        "uid": letter.uid,
        "hlc": letter.hlc,
        "from_class": letter.class_uid,
        "to_class": letter.partner_class_uid,
        "language": letter.language,
        "text": letter.text,
        "attachments": letter.files(),
    }


def signed_in(url: str, username: str, source: str = "127.0.0.1") -> Client:
    client = Client(url, source)
    secret = {"pin": PIN} if not username.startswith("coach") else {"password": PASSWORD}
    reply = client.sign_in(username, **secret)
    assert reply.status == 201, reply.text
    return client


def post_multipart(
    client: Client, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> Reply:
    """A form with files, as a browser sends it (`files`: field, file name, bytes)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value.encode() + b"\r\n"
    for name, filename, data in files:
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    host, port = client.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def png(width: int = 160, height: int = 100) -> bytes:
    """A real picture (a colour gradient), made without an imaging library."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, 120, y * 2 % 256))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        block = struct.pack(">I", len(data)) + kind + data
        return block + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
