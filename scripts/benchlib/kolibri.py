"""`scripts/bench --only kolibri`: importing a Kolibri export of 20,000 nodes.

The export is generated here as Kolibri's `exportchannel` + `exportcontent` would write it:
KOLIBRI_DATA/content/databases/<channel id>.sqlite3 in Kolibri's content schema 5 (the tables
and columns of kolibri/core/content/contentschema/versions/content_schema_5.py that a channel
database holds) and KOLIBRI_DATA/content/storage/<m>/<d>/<md5>.<ext>, every file different.
The hub's `learnhub content import` of it is timed (a first import, then the same again,
which changes nothing), beside the anchor: Kolibri's own `importchannel` + `importcontent`
took 14.5-46 s for 20,000 files.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchlib.context import BenchError, Context
from benchlib.report import MB, SectionResult, info

NODES = 20_000
TOPICS = 1_000  # 20 top topics of 49 subtopics, and the root
CHANNEL = uuid.uuid5(uuid.NAMESPACE_URL, "learnhub-bench-kolibri").hex
ANCHOR = "Kolibri importchannel + importcontent, 20,000 files: 14.5-46 s (measured anchor)"
# Resource kinds in turn, as a real channel mixes them.
KINDS = ("document", "video", "audio", "document", "exercise", "html5", "document", "audio")
SCHEMA_5 = """
CREATE TABLE content_channelmetadata (id char(32) PRIMARY KEY, name varchar(200) NOT NULL,
  description varchar(400) NOT NULL, tagline varchar(150), author varchar(400) NOT NULL,
  version integer NOT NULL, thumbnail text NOT NULL, last_updated varchar,
  min_schema_version varchar(50) NOT NULL, root_id char(32) NOT NULL);
CREATE TABLE content_language (id varchar(14) PRIMARY KEY, lang_code varchar(3) NOT NULL,
  lang_subcode varchar(10), lang_name varchar(100), lang_direction varchar(3) NOT NULL);
CREATE TABLE content_contentnode (id char(32) PRIMARY KEY, license_name varchar(50),
  license_description text, title varchar(200) NOT NULL, coach_content bool NOT NULL,
  content_id char(32) NOT NULL, channel_id char(32) NOT NULL, description text,
  sort_order real, license_owner varchar(200) NOT NULL, author varchar(200) NOT NULL,
  kind varchar(200) NOT NULL, available bool NOT NULL, options text, grade_levels text,
  resource_types text, learning_activities text, accessibility_labels text, categories text,
  learner_needs text, duration integer, lft integer NOT NULL, rght integer NOT NULL,
  tree_id integer NOT NULL, level integer NOT NULL, lang_id varchar(14), parent_id char(32));
CREATE TABLE content_localfile (id varchar(32) PRIMARY KEY, extension varchar(40) NOT NULL,
  available bool NOT NULL, file_size integer);
CREATE TABLE content_file (id char(32) PRIMARY KEY, preset varchar(150) NOT NULL,
  supplementary bool NOT NULL, thumbnail bool NOT NULL, priority integer,
  contentnode_id char(32) NOT NULL, lang_id varchar(14), local_file_id varchar(32) NOT NULL);
CREATE TABLE content_assessmentmetadata (id char(32) PRIMARY KEY,
  assessment_item_ids text NOT NULL, number_of_assessments integer NOT NULL,
  mastery_model text NOT NULL, randomize bool NOT NULL, is_manipulable bool NOT NULL,
  contentnode_id char(32) NOT NULL);
CREATE TABLE content_contenttag (id char(32) PRIMARY KEY, tag_name varchar(30) NOT NULL);
CREATE TABLE content_contentnode_tags (id integer PRIMARY KEY,
  contentnode_id char(32) NOT NULL, contenttag_id char(32) NOT NULL);
CREATE TABLE content_contentnode_has_prerequisite (id integer PRIMARY KEY,
  from_contentnode_id char(32) NOT NULL, to_contentnode_id char(32) NOT NULL);
CREATE TABLE content_contentnode_related (id integer PRIMARY KEY,
  from_contentnode_id char(32) NOT NULL, to_contentnode_id char(32) NOT NULL);
"""


@dataclass
class _Export:
    root: Path  # KOLIBRI_DATA
    db: sqlite3.Connection
    files: int = 0
    bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def store(
        self, node_id: str, preset: str, extension: str, data: bytes, **extra: object
    ) -> None:
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        folder = self.root / "content" / "storage" / md5[0] / md5[1]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{md5}.{extension}").write_bytes(data)
        self.db.execute(
            "INSERT OR IGNORE INTO content_localfile VALUES (?, ?, 0, ?)",
            (md5, extension, len(data)),
        )
        self.db.execute(
            "INSERT INTO content_file VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _id("file", node_id, preset),
                preset,
                int(bool(extra.get("supplementary"))),
                int(bool(extra.get("thumbnail"))),
                extra.get("priority", 1),
                node_id,
                extra.get("lang"),
                md5,
            ),
        )
        self.files += 1
        self.bytes += len(data)


def run(ctx: Context) -> SectionResult:
    result = SectionResult("kolibri")
    try:
        export = write_export(ctx.scratch / "kolibri-stick" / "KOLIBRI_DATA", ctx)
        data = ctx.scratch / "kolibri-data"
        ctx.say("importing the Kolibri export with learnhub content import")
        first, out = _timed(ctx, data, export.root)
        again, _ = _timed(ctx, data, export.root)
    except BenchError as err:
        result.error = str(err)
        return result
    counted = re.search(r"\((\d+) lessons\)", out)
    lessons = counted.group(1) if counted else "?"
    result.add(info("  export: nodes / files", NODES, f"{NODES:,} / {export.files:,}"))
    result.add(info("  export: size", export.bytes, f"{export.bytes / MB:.1f} MB"))
    result.add(info("  import, first (s)", first, f"{first:.1f} s ({lessons} lessons)"))
    result.add(info("  import again, unchanged (s)", again, f"{again:.1f} s"))
    result.add(info(f"  {ANCHOR}", None, "14.5-46 s"))
    result.raw = {"first": first, "again": again, "files": export.files, "bytes": export.bytes}
    result.raw["kinds"] = export.kinds
    result.raw["output"] = out.splitlines()[:5]
    return result


def _timed(ctx: Context, data: Path, export: Path) -> tuple[float, str]:
    began = time.perf_counter()
    out = ctx.learnhub_cli("content", "import", "--data", str(data), str(export), timeout=3600)
    return time.perf_counter() - began, out


def write_export(root: Path, ctx: Context) -> _Export:
    """A channel of NODES nodes and its files under `root` (KOLIBRI_DATA)."""
    ctx.say(f"writing a Kolibri export of {NODES:,} nodes: {root}")
    (root / "content" / "databases").mkdir(parents=True)
    db = sqlite3.connect(root / "content" / "databases" / f"{CHANNEL}.sqlite3")
    export = _Export(root, db)
    with db:
        db.executescript(SCHEMA_5)
        db.execute("INSERT INTO content_language VALUES ('en', 'en', NULL, 'English', 'ltr')")
        db.execute("INSERT INTO content_language VALUES ('fr', 'fr', NULL, 'Français', 'ltr')")
        root_id = _id("node", "root")
        db.execute(
            "INSERT INTO content_channelmetadata VALUES (?, ?, ?, ?, ?, 1, '', NULL, '5', ?)",
            (CHANNEL, "Bench channel", "20,000 nodes", "Made by the bench", "Bench", root_id),
        )
        counter = iter(range(1, 10 * NODES))
        _node(export, root_id, None, "topic", "Bench channel", 0, counter)
        for number, (parent, level) in enumerate(_topics(root_id)):
            _node(
                export,
                _id("node", f"t{number}"),
                parent,
                "topic",
                f"Topic {number}",
                level,
                counter,
            )
        for number in range(NODES - TOPICS):
            parent = _id("node", f"t{20 + number % (TOPICS - 21)}")  # the subtopics
            kind = KINDS[number % len(KINDS)]
            node_id = _id("node", f"r{number}")
            _node(export, node_id, parent, kind, f"Lesson {number}: {kind}", 2, counter)
            _files(export, node_id, kind, number)
            export.kinds[kind] = export.kinds.get(kind, 0) + 1
    db.close()
    return export


def _topics(root_id: str) -> Iterator[tuple[str, int]]:
    """(parent id, level) of each topic after the root: 20 top topics, then subtopics."""
    for _ in range(20):
        yield root_id, 1
    for number in range(TOPICS - 21):
        yield _id("node", f"t{number % 20}"), 2


def _node(
    export: _Export,
    node_id: str,
    parent: str | None,
    kind: str,
    title: str,
    level: int,
    counter: Iterator[int],
) -> None:
    left = next(counter)
    export.db.execute(
        "INSERT INTO content_contentnode VALUES (?, ?, NULL, ?, 0, ?, ?, ?, ?, ?, ?, ?, 1, '{}',"
        " NULL, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, 1, ?, 'en', ?)",
        (
            node_id,
            None if kind == "topic" else "CC BY",
            title,
            node_id,
            CHANNEL,
            f"What {title.lower()} teaches, in one line of text for the bench.",
            float(left),
            "Bench authors",
            "Bench authors",
            kind,
            60 if kind in ("video", "audio") else None,
            left,
            left + 1,
            level,
            parent,
        ),
    )


def _files(export: _Export, node_id: str, kind: str, number: int) -> None:
    unique = f"{kind} {number} {node_id}".encode()
    if kind == "document":
        export.store(node_id, "document", "pdf", _pdf(unique))
    elif kind == "video":
        export.store(node_id, "low_res_video", "mp4", unique * 400)
        vtt = b"WEBVTT\n\n00:00.000 --> 00:02.000\n" + unique + b"\n"
        export.store(node_id, "video_subtitle", "vtt", vtt, supplementary=True, lang="en")
    elif kind == "audio":
        export.store(node_id, "audio", "mp3", unique * 200)
    elif kind == "html5":
        export.store(node_id, "html5_zip", "zip", _zip({"index.html": b"<!doctype html>" + unique}))
    else:
        items = {f"{_id('item', node_id, str(n))}.json": _item(n) for n in range(3)}
        ids = [name.removesuffix(".json") for name in items]
        export.store(node_id, "exercise", "perseus", _zip({"exercise.json": unique, **items}))
        export.db.execute(
            "INSERT INTO content_assessmentmetadata VALUES (?, ?, 3, ?, 1, 0, ?)",
            (_id("am", node_id), json.dumps(ids), '{"type": "m_of_n", "m": 2, "n": 3}', node_id),
        )


def _pdf(unique: bytes) -> bytes:
    """A one-page PDF (text a search index can read), different for each lesson."""
    stream = b"BT /F1 12 Tf 20 50 Td (" + unique.replace(b"(", b"").replace(b")", b"") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    table = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    )
    return out.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _item(number: int) -> bytes:
    if number % 2:
        widget = {
            "type": "numeric-input",
            "options": {"answers": [{"value": number * 3, "status": "correct", "maxError": 0}]},
        }
        content, name = (
            f"What is {number} times 3?\n\n[[\u2603 numeric-input 1]]",
            "numeric-input 1",
        )
    else:
        choices = [
            {"content": text, "correct": text == "Four"} for text in ("Three", "Four", "Five")
        ]
        widget = {"type": "radio", "options": {"choices": choices, "multipleSelect": False}}
        content, name = "What is two plus two?\n\n[[\u2603 radio 1]]", "radio 1"
    item = {"question": {"content": content, "images": {}, "widgets": {name: widget}}, "hints": []}
    return json.dumps(item).encode()


def _id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(("bench", CHANNEL, *parts))).hex
