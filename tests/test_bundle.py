"""Sync bundles: what is written reads back, and every damaged or hostile bundle is refused
with one sentence before anything in it is used."""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import struct
import tarfile
import zlib
from pathlib import Path

import pytest

from sync.bundle import (
    FORMAT,
    Bundle,
    BundleError,
    Limits,
    PartSpec,
    _tar,
    _write,
    bundle_name,
    bundles_in,
    peek,
    read_bundle,
    sync_folder,
    write_bundle,
)
from sync.identity import KeyPair
from sync.records import EventRow, encode_events, roster_record

EPOCH = "0123456789abcdef"
T0 = 1_790_000_000_000
LEARNER = "a" * 32
CENTRAL = "central-main"


def make_keys(seed: int) -> KeyPair:
    return KeyPair(bytes([seed]) * 32)


KEYS = make_keys(1)
CENTRAL_KEYS = make_keys(2)
HUB = KEYS.hub_id


def events(count: int = 5) -> list[EventRow]:
    return [
        EventRow(n, (T0 + n * 15_000) << 16, T0 + n * 15_000, LEARNER, "fractions-en",
                 "halves", "progress", {"progress": n / 10, "time_spent": 15.0})
        for n in range(1, count + 1)
    ]  # fmt: skip


def hub_header(rows: list[EventRow]) -> dict:
    return {
        "kind": "hub",
        "sender": HUB,
        "recipient": "central",
        "hub_id": HUB,
        "epoch": EPOCH,
        "seq": {"first": rows[0].seq, "last": rows[-1].seq},
        "hlc": {"first": rows[0].hlc, "last": rows[-1].hlc},
        "previous": None,
        "created": T0,
        "have": {"fractions-en": "1.0.0"},
    }


def reply_header() -> dict:
    return {
        "kind": "reply",
        "sender": CENTRAL,
        "recipient": HUB,
        "hub_id": HUB,
        "epoch": EPOCH,
        "seq": None,
        "hlc": None,
        "previous": "b" * 64,
        "created": T0,
    }


ROSTER = [roster_record("learner", LEARNER, T0 << 16, HUB, name="Amina", class_uid=None)]
LINE = json.dumps(ROSTER[0]).encode() + b"\n"  # one valid roster record
BLOB = os.urandom(3000) + bytes(70_000)  # two chunks
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()


def write_hub(path: Path, count: int = 5) -> str:
    rows = events(count)
    parts = [
        PartSpec("events", "events", encode_events(rows)),
        PartSpec("roster", "roster", ROSTER),
    ]
    return write_bundle(path, KEYS, hub_header(rows), parts)


def write_reply(path: Path) -> str:
    parts = [
        PartSpec("receipt", "receipt", [{"hub_id": HUB, "epoch": EPOCH, "high_water": 5}]),
        PartSpec(
            "packs",
            "packs",
            [{"pack_id": "p", "version": "1.0", "manifest": {"id": "p"}, "files": {"a": BLOB_SHA}}],
        ),
        PartSpec(BLOB_SHA, "blob", data=BLOB),
    ]
    return write_bundle(path, CENTRAL_KEYS, reply_header(), parts)


@pytest.fixture
def hub_path(tmp_path: Path) -> Path:
    path = tmp_path / "hub.lhb"
    write_hub(path)
    return path


@pytest.fixture
def reply_path(tmp_path: Path) -> Path:
    path = tmp_path / "reply.lhb"
    write_reply(path)
    return path


def refused(path: Path, key: bytes = KEYS.public_key, limits: Limits | None = None) -> str:
    """The one sentence a refused bundle gets."""
    with pytest.raises(BundleError) as caught:
        read_bundle(path, key, *([limits] if limits else []))
    message = str(caught.value)
    assert message.startswith(f"Bundle {path.name} ")
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    assert message.count(". ") == 0, message
    return message


# ------------------------------------------------------------------------ tools to tamper


def members(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every member, read by the standard library (our tar is plain ustar)."""
    with tarfile.open(path, format=tarfile.USTAR_FORMAT) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def tar_member(name: str | bytes, data: bytes, kind: bytes = b"0", link: bytes = b"") -> bytes:
    raw = name.encode() if isinstance(name, str) else name
    header = bytearray(_tar.tar_header("x", len(data), T0))
    header[0:100] = raw[:100].ljust(100, b"\0")
    header[156:157] = kind
    header[157:257] = link.ljust(100, b"\0")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + data + bytes(-len(data) % 512)


def assemble(path: Path, items: list[tuple[str | bytes, bytes]], end: bytes = bytes(1024)) -> Path:
    path.write_bytes(b"".join(tar_member(name, data) for name, data in items) + end)
    return path


def signed(manifest: dict, keys: KeyPair = KEYS) -> list[tuple[str | bytes, bytes]]:
    data = json.dumps(manifest).encode()
    return [("manifest.json", data), ("manifest.sig", keys.sign(data))]


def resigned(path: Path, change, keys: KeyPair = KEYS, parts=None) -> Path:
    """The bundle with its manifest changed by `change` and signed again by the real key:
    what a bug or a hostile sender with the key could make."""
    items = members(path)
    manifest = json.loads(items[0][1])
    change(manifest)
    return assemble(path, [*signed(manifest, keys), *(parts if parts is not None else items[2:])])


def entry_for(name: str, type_: str, data: bytes, records: int) -> dict:
    return _write._entry(name, type_, records, data, len(data))


def with_part(path: Path, type_: str, data: bytes, records: int, name: str = "extra") -> Path:
    """The hub bundle plus one part holding `data`, properly hashed and signed."""
    items = members(path)
    manifest = json.loads(items[0][1])
    manifest["parts"].append(entry_for(name, type_, data, records))
    return assemble(path, [*signed(manifest), *items[2:], (f"parts/{name}", data)])


def xz(text: bytes) -> bytes:
    return lzma.compress(text, format=lzma.FORMAT_XZ)


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def layout(path: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (header offset, data offset, size), from the standard library's reading."""
    with tarfile.open(path) as tar:
        return {m.name: (m.offset, m.offset_data, m.size) for m in tar.getmembers()}


# ----------------------------------------------------------------------------- round trip


def test_a_hub_bundle_reads_back_exactly(hub_path: Path) -> None:
    bundle_id = write_hub(hub_path)
    bundle = read_bundle(hub_path, KEYS.public_key)
    assert isinstance(bundle, Bundle)
    assert list(bundle.events()) == events()
    assert list(bundle.records("roster")) == ROSTER
    assert bundle.bundle_id == bundle_id == hashlib.sha256(members(hub_path)[0][1]).hexdigest()
    assert bundle.manifest["format"] == FORMAT
    assert bundle.manifest["have"] == {"fractions-en": "1.0.0"}
    assert [p["name"] for p in bundle.parts_of_type("events")] == ["events"]
    assert bundle.parts_of_type("events")[0]["records"] == 5


def test_the_file_is_a_plain_ustar_tar_in_the_specified_order(hub_path: Path) -> None:
    names = [name for name, _ in members(hub_path)]
    assert names == ["manifest.json", "manifest.sig", "parts/events", "parts/roster"]
    assert len(members(hub_path)[1][1]) == 64
    assert hub_path.stat().st_size % 512 == 0


def test_a_reply_carries_a_receipt_packs_and_blobs(reply_path: Path, tmp_path: Path) -> None:
    bundle = read_bundle(reply_path, CENTRAL_KEYS.public_key)
    [receipt] = bundle.records("receipt")
    assert receipt["high_water"] == 5
    [offer] = bundle.records("packs")
    assert offer["files"] == {"a": BLOB_SHA}
    assert bundle.blob(BLOB_SHA) == BLOB
    bundle.save_blob(BLOB_SHA, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == BLOB
    assert members(reply_path)[4][0] == f"blobs/{BLOB_SHA}"
    assert len(bundle.part(BLOB_SHA)["chunks"]) == 2


def test_a_blob_streams_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(BLOB)
    path = tmp_path / "r.lhb"
    write_bundle(path, CENTRAL_KEYS, reply_header(), [PartSpec("", "blob", file=source)])
    assert read_bundle(path, CENTRAL_KEYS.public_key).blob(BLOB_SHA) == BLOB


def test_large_blobs_get_larger_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_write, "MAX_CHUNKS", 1)
    path = tmp_path / "r.lhb"
    write_bundle(path, CENTRAL_KEYS, reply_header(), [PartSpec(BLOB_SHA, "blob", data=BLOB)])
    bundle = read_bundle(path, CENTRAL_KEYS.public_key)
    assert bundle.part(BLOB_SHA)["chunk_size"] == 128 * 1024
    assert bundle.blob(BLOB_SHA) == BLOB


def test_peek_gives_the_sender_without_a_key(hub_path: Path) -> None:
    manifest = peek(hub_path)
    assert (manifest["sender"], manifest["recipient"], manifest["kind"]) == (HUB, "central", "hub")


def test_bundle_names(hub_path: Path, reply_path: Path) -> None:
    assert bundle_name(peek(hub_path)) == f"{HUB}-to-central-{EPOCH}-5.lhb"
    assert bundle_name(peek(reply_path)) == f"{CENTRAL}-to-{HUB}-{EPOCH}-{T0}.lhb"


def test_zero_records_and_empty_bundles_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "empty.lhb"
    header = dict(hub_header(events()), seq=None, hlc=None)
    write_bundle(path, KEYS, header, [PartSpec("roster", "roster", [])])
    assert list(read_bundle(path, KEYS.public_key).records("roster")) == []
    write_bundle(path, KEYS, header, [])
    assert read_bundle(path, KEYS.public_key).manifest["parts"] == []


def test_record_padding_after_the_end_is_accepted(hub_path: Path) -> None:
    # GNU tar pads an archive to a multiple of 10,240 bytes with zeros.
    with open(hub_path, "ab") as out:
        out.write(bytes(10_240 - hub_path.stat().st_size % 10_240))
    assert list(read_bundle(hub_path, KEYS.public_key).events()) == events()


# -------------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format": "x"}, "must not set format"),
        ({"parts": []}, "must not set format or parts"),
        ({"kind": "gossip"}, "kind must be one of"),
        ({"epoch": "ABC"}, "epoch must be 16"),
        ({"recipient": "hub2"}, "recipient must be central"),
        ({"seq": {"first": 3, "last": 4}}, "outside the manifest's range"),
    ],
)
def test_a_bad_header_is_not_written(tmp_path: Path, change: dict, words: str) -> None:
    path = tmp_path / "b.lhb"
    rows = events()
    with pytest.raises(BundleError, match=words):
        write_bundle(
            path,
            KEYS,
            {**hub_header(rows), **change},
            [PartSpec("e", "events", encode_events(rows))],
        )
    assert list(tmp_path.iterdir()) == []


def test_a_header_missing_a_field_is_not_written(tmp_path: Path) -> None:
    header = hub_header(events())
    del header["previous"]
    with pytest.raises(BundleError, match="lacks previous"):
        write_bundle(tmp_path / "b.lhb", KEYS, header, [])


@pytest.mark.parametrize(
    ("part", "words"),
    [
        (PartSpec("x", "gossip", []), "unknown type"),
        (PartSpec("Bad Name", "roster", []), "Part name"),
        (PartSpec("x", "roster", data=b"raw"), "records only"),
        (PartSpec("x", "roster", [{"t": "pet"}]), "cannot be written"),
        (PartSpec("x", "roster", [float("nan")]), "not JSON"),
        (PartSpec("x", "roster", [object()]), "not JSON"),
        (PartSpec("f" * 64, "blob", data=b"not f"), "whose sha256 is"),
        (PartSpec("", "blob"), "as data or as a file"),
    ],
)
def test_a_bad_part_is_not_written(tmp_path: Path, part: PartSpec, words: str) -> None:
    header = dict(reply_header()) if part.type == "blob" else hub_header(events())
    keys = CENTRAL_KEYS if part.type == "blob" else KEYS
    with pytest.raises(BundleError, match=words):
        write_bundle(tmp_path / "b.lhb", keys, header, [part])
    assert list(tmp_path.iterdir()) == []


def test_a_hub_bundle_cannot_carry_a_reply_part(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="type must be one of events, roster, shared, blob"):
        write_bundle(
            tmp_path / "b.lhb", KEYS, hub_header(events()), [PartSpec("p", "packs", records=[])]
        )


def test_a_hub_bundle_carries_the_files_of_a_pack_it_shares(tmp_path: Path) -> None:
    """Issue #18: a shared pack's files travel up as blobs beside its offer record."""
    data = b"<p>halves</p>"
    digest = hashlib.sha256(data).hexdigest()
    offer = {"t": "offer", "pack_id": "own-halves", "version": "1.0.0", "hlc": 5}
    offer |= {"origin": KEYS.hub_id, "withdrawn": False, "author": "Neema"}
    offer |= {"license": "CC0-1.0", "manifest": {"id": "own-halves"}}
    offer |= {"files": {"halves.html": digest}}
    parts = [PartSpec("shared", "shared", records=[offer]), PartSpec("", "blob", data=data)]
    write_bundle(tmp_path / "b.lhb", KEYS, hub_header(events()), parts)
    bundle = read_bundle(tmp_path / "b.lhb", KEYS.public_key)
    assert list(bundle.records("shared")) == [offer]
    assert bundle.blob(digest) == data


def test_a_failed_write_leaves_the_old_file_and_no_temporary(hub_path: Path, monkeypatch) -> None:
    before = hub_path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(BundleError, match=r"cannot be written \(No space left on device\)\.$"):
        write_hub(hub_path, count=7)
    assert hub_path.read_bytes() == before
    assert [p.name for p in hub_path.parent.iterdir()] == [hub_path.name]


def test_a_blob_file_that_changes_while_written_is_not_kept(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(BLOB)
    real = _write._write_member

    def write_then_change(*args) -> None:
        real(*args)
        source.write_bytes(BLOB[::-1])

    monkeypatch.setattr(_write, "_write_member", write_then_change)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BundleError, match="changed while it was written"):
        write_bundle(
            out / "r.lhb", CENTRAL_KEYS, reply_header(), [PartSpec("", "blob", file=source)]
        )
    assert list(out.iterdir()) == []


def test_a_missing_blob_file_is_one_sentence(tmp_path: Path) -> None:
    part = PartSpec("", "blob", file=tmp_path / "gone.mp4")
    with pytest.raises(BundleError, match=r"cannot be read \(No such file or directory\)\.$"):
        write_bundle(tmp_path / "r.lhb", CENTRAL_KEYS, reply_header(), [part])


# -------------------------------------------------------------------- truncated and flipped


def test_truncated_anywhere_is_refused(hub_path: Path) -> None:
    whole = hub_path.read_bytes()
    where = layout(hub_path)
    _, manifest_data, manifest_size = where["manifest.json"]
    sig_at, sig_data, _ = where["manifest.sig"]
    events_at, events_data, events_size = where["parts/events"]
    cuts = {
        0: "inside the tar header of manifest.json",
        100: "inside the tar header of manifest.json",
        manifest_data + manifest_size // 2: "inside manifest.json",
        manifest_data + manifest_size + 1: "inside the tar padding after manifest.json",
        sig_at: "inside the tar header of manifest.sig",
        sig_data + 30: "inside manifest.sig",
        events_at + 511: "inside the tar header of parts/events",
        events_data + 1: "inside parts/events",
        events_data + events_size + 3: "inside the tar padding after parts/events",
        len(whole) - 1024: "inside the end-of-archive marker",
        len(whole) - 1: "inside the end-of-archive marker",
    }
    for cut, words in cuts.items():
        hub_path.write_bytes(whole[:cut])
        assert f"truncated (it ends {words})" in refused(hub_path), cut


def test_truncated_at_every_block_and_between_is_refused(hub_path: Path) -> None:
    whole = hub_path.read_bytes()
    for cut in [*range(0, len(whole), 512), *range(7, len(whole), 331)]:
        hub_path.write_bytes(whole[:cut])
        refused(hub_path)


def test_a_member_cut_where_the_next_one_should_start_is_refused(hub_path: Path) -> None:
    whole = hub_path.read_bytes()
    roster_at = layout(hub_path)["parts/roster"][0]
    hub_path.write_bytes(whole[:roster_at] + bytes(1024))
    assert "incomplete (parts/roster is missing)" in refused(hub_path)


def test_one_byte_flipped_in_the_payload_is_refused(hub_path: Path) -> None:
    _, start, size = layout(hub_path)["parts/events"]
    flip(hub_path, start + size // 2)
    assert "chunk 0 of parts/events does not match its hash" in refused(hub_path)


def test_one_byte_flipped_in_the_manifest_is_refused(hub_path: Path) -> None:
    whole = hub_path.read_bytes()
    _, start, size = layout(hub_path)["manifest.json"]
    data = whole[start : start + size]
    at = start + data.index(b'"last":5') + len(b'"last":')  # still valid JSON: 5 -> \xca
    flip(hub_path, at)
    assert "not valid JSON" in refused(hub_path)
    data_digit = start + data.index(b'"last":5') + len(b'"last":')
    raw = bytearray(whole)
    raw[data_digit] = ord("6")  # a plausible forgery: one more event claimed
    hub_path.write_bytes(bytes(raw))
    assert "signature does not match the sender's key" in refused(hub_path)


def test_one_byte_flipped_in_the_signature_is_refused(hub_path: Path) -> None:
    flip(hub_path, layout(hub_path)["manifest.sig"][1] + 10)
    assert "signature does not match" in refused(hub_path)


def test_one_byte_flipped_in_a_tar_header_is_refused(hub_path: Path) -> None:
    flip(hub_path, layout(hub_path)["parts/roster"][0] + 3)
    assert "is damaged (its checksum does not match)" in refused(hub_path)


def test_non_zero_tar_padding_is_refused(hub_path: Path) -> None:
    _, start, size = layout(hub_path)["parts/events"]
    flip(hub_path, start + size)
    assert "the tar padding after parts/events is not zero" in refused(hub_path)


def test_every_single_byte_flipped_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "small.lhb"
    write_hub(path, count=1)
    whole = path.read_bytes()
    accepted = []
    for offset in range(len(whole)):  # headers, JSON, signature, xz, padding, end marker
        damaged = bytearray(whole)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            read_bundle(path, KEYS.public_key)
        except BundleError as err:
            assert str(err).startswith("Bundle small.lhb is refused: ")
        else:
            accepted.append(offset)
    assert accepted == []


# ------------------------------------------------------------------- who sent it, what format


def test_another_key_is_refused(hub_path: Path) -> None:
    assert "signature does not match the sender's key" in refused(hub_path, make_keys(9).public_key)


def test_an_unknown_format_is_refused(hub_path: Path) -> None:
    resigned(hub_path, lambda m: m.update(format="learnhub-bundle/2"))
    message = refused(hub_path)
    assert "format learnhub-bundle/2 is not learnhub-bundle/1" in message
    with pytest.raises(BundleError, match="format"):
        peek(hub_path)


def test_a_manifest_that_is_not_an_object_is_refused(hub_path: Path) -> None:
    assemble(hub_path, [("manifest.json", b"[1, 2]"), ("manifest.sig", KEYS.sign(b"[1, 2]"))])
    assert "manifest.json is not a JSON object" in refused(hub_path)


def test_a_manifest_with_nan_is_refused(hub_path: Path) -> None:
    data = b'{"format": "learnhub-bundle/1", "created": NaN}'
    assemble(hub_path, [("manifest.json", data), ("manifest.sig", KEYS.sign(data))])
    assert "not valid JSON" in refused(hub_path)


def test_a_huge_manifest_is_refused(hub_path: Path) -> None:
    data = b" " * (1024 * 1024 + 1)
    assemble(hub_path, [("manifest.json", data), ("manifest.sig", KEYS.sign(data))])
    assert "manifest.json is larger than 1048576 bytes" in refused(hub_path)


def test_a_short_signature_is_refused(hub_path: Path) -> None:
    items = members(hub_path)
    assemble(hub_path, [items[0], ("manifest.sig", items[1][1][:63]), *items[2:]])
    assert "signature does not match" in refused(hub_path)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m.pop("epoch"), "epoch must be 16 lower-case hex digits"),
        (lambda m: m.pop("seq"), "lacks seq"),
        (lambda m: m.update(kind="reply"), "recipient must be the hub_id"),
        (lambda m: m.update(sender="../../etc"), "sender must be a hub id"),
        (lambda m: m.update(hub_id="someotherhub"), "sender must be the hub_id"),
        (lambda m: m.update(previous="abc"), "previous must be null or a sha256"),
        (lambda m: m.update(created=-1), "created must be a non-negative integer"),
        (lambda m: m.update(created=True), "created must be a non-negative integer"),
        (lambda m: m.update(have=["p"]), "have must map pack ids"),
        (lambda m: m.update(hlc={"first": 9, "last": 1}), "hlc.first is after hlc.last"),
        (lambda m: m.update(seq={"first": 1}), "seq must be null or"),
        (lambda m: m.update(seq=None), "has events but no seq range"),
        (lambda m: m.update(parts={}), "parts must be a list"),
        (lambda m: m["parts"].append(m["parts"][0]), "parts[2] repeats the name events"),
        (lambda m: m["parts"][0].update(type="receipt"), "parts[0] type must be one of"),
        (lambda m: m["parts"][0].update(name="../x"), "parts[0] name must be 1 to 64"),
        (lambda m: m["parts"][0].update(size=2**40), "parts[0] size must be an integer"),
        (lambda m: m["parts"][0].update(records=-1), "parts[0] records must be a count"),
        (lambda m: m["parts"][0].update(chunk_size=1000), "parts[0] chunk_size must be"),
        (lambda m: m["parts"][0].update(chunk_size=65536.0), "parts[0] chunk_size must be"),
        (lambda m: m.update(recipient="centralhub"), "recipient must be central in a hub"),
        (lambda m: m.update(hub_id="central", sender="central"), "hub_id must be a hub's id"),
        (lambda m: m["parts"][0].update(chunks=[]), "parts[0] chunks must list one"),
        (lambda m: m["parts"][0].update(chunks=["x" * 64]), "parts[0] chunks must be sha256"),
        (lambda m: m["parts"][0].update(sha256="X"), "parts[0] sha256 must be 64"),
        (lambda m: m["parts"].__setitem__(0, "events"), "parts[0] must be an object"),
    ],
)
def test_a_signed_but_malformed_manifest_is_refused(hub_path: Path, change, words: str) -> None:
    resigned(hub_path, change)
    assert f"its manifest {words}" in refused(hub_path)


def test_a_reply_from_a_hub_is_refused(reply_path: Path) -> None:
    resigned(reply_path, lambda m: m.update(sender=HUB), CENTRAL_KEYS)
    assert "sender must be central in a reply bundle" in refused(
        reply_path, CENTRAL_KEYS.public_key
    )


# -------------------------------------------------------------------------- lying parts


def test_a_part_whose_chunk_hashes_lie_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.lhb"
    write_reply(path)
    lie = hashlib.sha256(b"something else").hexdigest()
    resigned(path, lambda m: m["parts"][2]["chunks"].__setitem__(1, lie), CENTRAL_KEYS)
    message = refused(path, CENTRAL_KEYS.public_key)
    assert f"chunk 1 of blobs/{BLOB_SHA} does not match its hash" in message


def test_a_part_whose_sha256_lies_is_refused(hub_path: Path) -> None:
    resigned(hub_path, lambda m: m["parts"][1].update(sha256="c" * 64))
    assert "parts/roster does not match its sha256" in refused(hub_path)


def test_a_part_of_another_size_is_refused(hub_path: Path) -> None:
    items = members(hub_path)
    resigned(hub_path, lambda m: None, parts=[items[2], ("parts/roster", items[3][1] + b"\0")])
    assert "parts/roster is larger than" in refused(hub_path)
    resigned(hub_path, lambda m: None, parts=[items[2], ("parts/roster", items[3][1][:-1])])
    assert "not the" in refused(hub_path)


def test_a_blob_named_with_a_wrong_sha_is_refused(reply_path: Path) -> None:
    other = hashlib.sha256(b"other").hexdigest()
    items = members(reply_path)

    def rename(manifest: dict) -> None:
        manifest["parts"][2]["name"] = other

    resigned(reply_path, rename, CENTRAL_KEYS, parts=[*items[2:4], (f"blobs/{other}", BLOB)])
    message = refused(reply_path, CENTRAL_KEYS.public_key)
    assert f"is a blob named {other} but its sha256 is {BLOB_SHA}" in message


def test_a_blob_whose_bytes_are_not_its_name_is_refused(reply_path: Path) -> None:
    items = members(reply_path)
    forged = entry_for(BLOB_SHA, "blob", b"x" * len(BLOB), 0)
    forged["name"] = forged["sha256"] = BLOB_SHA  # chunks of the forged bytes, the real name

    def swap(manifest: dict) -> None:
        manifest["parts"][2] = forged

    resigned(reply_path, swap, CENTRAL_KEYS, parts=[*items[2:4], (items[4][0], b"x" * len(BLOB))])
    assert "does not match its sha256" in refused(reply_path, CENTRAL_KEYS.public_key)


# ------------------------------------------------------------------ order and duplicates


def test_members_out_of_order_are_refused(hub_path: Path) -> None:
    items = members(hub_path)
    assemble(hub_path, [items[0], items[1], items[3], items[2]])
    assert "out of order (parts/roster comes where parts/events should)" in refused(hub_path)


def test_the_signature_before_the_manifest_is_refused(hub_path: Path) -> None:
    items = members(hub_path)
    assemble(hub_path, [items[1], items[0], *items[2:]])
    assert "out of order (manifest.sig comes where manifest.json should)" in refused(hub_path)


def test_a_duplicated_member_is_refused(hub_path: Path) -> None:
    items = members(hub_path)
    assemble(hub_path, [*items, items[3]])
    assert "the member parts/roster appears twice" in refused(hub_path)
    assemble(hub_path, [items[0], items[0], *items[1:]])
    assert "the member manifest.json appears twice" in refused(hub_path)


def test_a_member_the_manifest_does_not_list_is_refused(hub_path: Path) -> None:
    assemble(hub_path, [*members(hub_path), ("parts/extra", b"{}")])
    assert "unexpected member parts/extra" in refused(hub_path)


def test_data_after_the_end_is_refused(hub_path: Path) -> None:
    whole = hub_path.read_bytes()
    hub_path.write_bytes(whole + b"\0" * 100 + b"hidden")
    assert "data after the end of the archive" in refused(hub_path)
    hub_path.write_bytes(whole + bytes(1024 * 1024 + 1))  # zeros, but more than any tar pads
    assert "data after the end of the archive" in refused(hub_path)


def test_a_damaged_end_marker_is_refused(hub_path: Path) -> None:
    flip(hub_path, hub_path.stat().st_size - 3)
    assert "end-of-archive marker is damaged" in refused(hub_path)


# -------------------------------------------------------------------------- hostile members


@pytest.mark.parametrize(
    ("name", "kind", "words"),
    [
        ("../x", b"0", "the member ../x points outside the bundle"),
        ("parts/../../x", b"0", "points outside the bundle"),
        ("/etc/passwd", b"0", "the member /etc/passwd has an absolute path"),
        ("parts/roster", b"2", "the member parts/roster is a symbolic link"),
        ("parts/roster", b"1", "the member parts/roster is a hard link"),
        ("parts/roster", b"3", "is a character device"),
        ("parts/roster", b"4", "is a block device"),
        ("parts/roster", b"6", "is a FIFO"),
        ("parts", b"5", "the member parts is a directory"),
        ("pax", b"x", "is a pax extended header"),
        ("././@LongLink", b"L", "is a GNU long name"),
        ("parts/roster", b"7", "is not a regular file"),
    ],
)
def test_hostile_members_are_refused(hub_path: Path, name: str, kind: bytes, words: str) -> None:
    items = members(hub_path)
    hostile = tar_member(name, b"", kind, link=b"/etc/passwd")
    hub_path.write_bytes(b"".join(tar_member(n, d) for n, d in items[:3]) + hostile + bytes(1024))
    assert f"{words}, which a bundle never holds" in refused(hub_path) or words in refused(hub_path)


def test_hostile_members_made_by_the_standard_tar_module_are_refused(hub_path: Path) -> None:
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.DIRTYPE):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo("manifest.json")
            info.type, info.linkname = kind, "/etc/shadow"
            tar.addfile(info)
        hub_path.write_bytes(buffer.getvalue())
        assert "which a bundle never holds" in refused(hub_path)


def test_a_non_utf8_name_is_refused(hub_path: Path) -> None:
    hub_path.write_bytes(tar_member(b"\xff\xfe", b"") + bytes(1024))
    assert "names a member in bytes that are not text" in refused(hub_path)


def test_a_pax_tar_of_the_same_members_is_refused(hub_path: Path, tmp_path: Path) -> None:
    items = members(hub_path)
    with tarfile.open(hub_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in items:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = {"comment": "x"}
            tar.addfile(info, io.BytesIO(data))
    assert "is a pax extended header" in refused(hub_path)


# --------------------------------------------------------------------------- bad contents


def test_a_decompression_bomb_stops_early(hub_path: Path) -> None:
    bomb = lzma.compress(LINE * (40_000_000 // len(LINE)), preset=1)  # 40 MB in ~60 kB
    with_part(hub_path, "roster", bomb, records=1)
    assert "parts/extra decompresses to more than" in refused(hub_path)


def test_the_absolute_decoded_limit_holds(hub_path: Path) -> None:
    with_part(hub_path, "roster", xz(b"[" * 5000 + b"]" * 5000 + b"\n"), records=1)
    limits = Limits(decoded_bytes=4096, ratio_floor=1024)
    assert "decompresses to more than 4096 bytes" in refused(hub_path, limits=limits)


def test_an_xz_stream_asking_for_gigabytes_of_memory_is_refused(hub_path: Path) -> None:
    data = bytearray(xz(LINE))
    size = (data[12] + 1) * 4  # the block header, after the 12-byte stream header
    header = data[12 : 12 + size]
    at = header.index(b"\x21\x01") + 2  # LZMA2's one property byte: the dictionary size
    header[at] = 40  # 4 GiB
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    data[12 : 12 + size] = header
    with_part(hub_path, "roster", bytes(data), records=1)
    assert "parts/extra needs too much memory to decompress" in refused(hub_path)


def test_a_record_longer_than_the_limit_is_refused(hub_path: Path) -> None:
    with_part(hub_path, "roster", xz(LINE[:-2] + b', "x": "' + b"x" * 5000 + b'"}\n'), records=1)
    assert "record longer than 1000" in refused(hub_path, limits=Limits(line_bytes=1000))


@pytest.mark.parametrize(
    ("data", "records", "words"),
    [
        (b"not xz at all", 1, "parts/extra is not a valid xz stream"),
        (xz(b"{not json}\n"), 1, "parts/extra has a line that is not JSON"),
        (xz(b"NaN\n"), 1, "has a line that is not JSON"),
        (xz(b"\xff\n"), 1, "has a line that is not JSON"),
        (xz(b'{"t": "learner"}'), 1, "parts/extra does not end with a newline"),
        (xz(b'{"t": "pet"}\n'), 1, "part extra is bad (A roster record's t must be one of"),
        (xz(b"\n"), 1, "has a line that is not JSON"),
        (xz(LINE) + b"junk", 1, "has bytes after its xz stream"),
        (xz(LINE) + xz(LINE), 1, "has bytes after its xz stream"),
        (xz(LINE)[:-12], 1, "ends inside its xz stream"),
    ],
)
def test_bad_ndjson_is_refused(hub_path: Path, data: bytes, records: int, words: str) -> None:
    with_part(hub_path, "roster", data, records)
    assert words in refused(hub_path)


def test_a_wrong_record_count_is_refused(hub_path: Path) -> None:
    with_part(hub_path, "roster", xz(LINE * 2), records=3)
    assert "it holds 2 records, not the 3 announced" in refused(hub_path)


def test_events_outside_the_announced_range_are_refused(hub_path: Path) -> None:
    lines = b"".join(json.dumps(line).encode() + b"\n" for line in encode_events(events(6)))
    with_part(hub_path, "events", xz(lines), records=6)
    assert "event seq 6 is outside the manifest's range" in refused(hub_path)


def test_malformed_events_are_refused(hub_path: Path) -> None:
    with_part(hub_path, "events", xz(b'[1, 2, 0, "nope", "p", "l", "viewed", {}]\n'), records=1)
    assert "Event line 1: learner_uid must be 32 lower-case hex digits" in refused(hub_path)


def test_a_receipt_part_holds_one_record(reply_path: Path) -> None:
    items = members(reply_path)
    two = xz(b"{}\n{}\n")

    def two_receipts(manifest: dict) -> None:
        manifest["parts"][0] = entry_for("receipt", "receipt", two, 2)

    resigned(reply_path, two_receipts, CENTRAL_KEYS, parts=[("parts/receipt", two), *items[3:]])
    assert "exactly one record" in refused(reply_path, CENTRAL_KEYS.public_key)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a bundle\n",
        os.urandom(5000),
        bytes(1024),
        b"PK\x03\x04" + os.urandom(600),
        lzma.compress(b"x" * 2000),
    ],
    ids=["empty", "text", "random", "zeros", "zip", "xz"],
)
def test_garbage_that_is_not_a_tar_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.lhb"
    path.write_bytes(data)
    refused(path)
    with pytest.raises(BundleError):
        peek(path)


def test_a_compressed_bundle_is_refused(hub_path: Path) -> None:
    import gzip

    hub_path.write_bytes(gzip.compress(hub_path.read_bytes()))
    assert "tar header at byte 0 is" in refused(hub_path)


def test_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    message = refused(tmp_path / "gone.lhb")
    assert message == "Bundle gone.lhb cannot be opened (No such file or directory)."


def test_a_folder_or_a_fifo_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "dir.lhb").mkdir()
    assert "it is not a regular file" in refused(tmp_path / "dir.lhb")
    os.mkfifo(tmp_path / "fifo.lhb")  # opening it must not wait for a writer
    assert "it is not a regular file" in refused(tmp_path / "fifo.lhb")


# ----------------------------------------------------------------- after verification


def test_a_file_changed_after_verification_feeds_nothing_unverified(hub_path: Path) -> None:
    bundle = read_bundle(hub_path, KEYS.public_key)
    flip(hub_path, layout(hub_path)["parts/roster"][1] + 5)
    with pytest.raises(BundleError, match="changed after it was verified: chunk 0 of parts/roster"):
        list(bundle.records("roster"))


def test_asking_for_a_part_that_is_not_there(hub_path: Path, reply_path: Path) -> None:
    bundle = read_bundle(hub_path, KEYS.public_key)
    with pytest.raises(BundleError, match="has no part nope"):
        list(bundle.records("nope"))
    reply = read_bundle(reply_path, CENTRAL_KEYS.public_key)
    with pytest.raises(BundleError, match="is a blob, not records"):
        list(reply.records(BLOB_SHA))
    with pytest.raises(BundleError, match="is not a blob"):
        reply.blob("receipt")


# ------------------------------------------------------------------------------ USB folders


def test_bundles_are_found_on_a_stick_in_seq_order(tmp_path: Path, hub_path: Path) -> None:
    folder = sync_folder(tmp_path / "stick")
    assert folder == tmp_path / "stick" / "learnhub-sync"
    folder.mkdir(parents=True)
    names = [f"h-to-central-{EPOCH}-10.lhb", f"h-to-central-{EPOCH}-9.lhb", "a-to-b-x.lhb"]
    for name in names:
        (folder / name).write_bytes(b"")
    (folder / "notes.txt").write_text("not a bundle")
    (folder / "dir.lhb").mkdir()
    (tmp_path / "stick" / "top.lhb").write_bytes(b"")
    found = [p.name for p in bundles_in(tmp_path / "stick")]
    assert found == [
        "a-to-b-x.lhb",
        f"h-to-central-{EPOCH}-9.lhb",
        f"h-to-central-{EPOCH}-10.lhb",
        "top.lhb",
    ]
    assert bundles_in(folder) == [folder / n for n in found[:3]]
    assert bundles_in(hub_path) == [hub_path]
    assert bundles_in(tmp_path / "nothing") == []
