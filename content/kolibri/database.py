"""Reading a Kolibri channel database (SQLite) without trusting it.

The file is opened read-only and immutable (a stick may be read-only, and nothing is ever
written to it). Its tables must be tables (a view could make every query expensive), its
schema one of Kolibri's versions (content/kolibri/schema.py), every id the form Kolibri writes
(32 hex digits: they become lesson ids and storage names), every number in range and every
text bounded before it reaches Python. Reading stops after a time budget, so a hostile file
costs seconds, not hours. Any failure is a PackError of one sentence.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.errors import PackError
from content.kolibri.schema import Schema, matching, min_version_problem

HEX_ID = re.compile(r"[0-9a-f]{32}")
EXTENSION = re.compile(r"[a-z0-9]{1,10}")
MAX_NODES = 100_000
MAX_FILES = 400_000
MAX_TAGS = 200_000
MAX_FIELD_CHARS = 1024**2  # one text field; Kolibri's longest (descriptions) are far shorter
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 20_000
MAX_OPTIONS_CHARS = 20_000
MAX_THUMBNAIL_CHARS = 2 * 1024**2  # the channel's picture, a data: URI
MAX_CHANNEL_VERSION = 10**9
MAX_FILE_BYTES = 2**53
MAX_DURATION = 10**7  # seconds
READ_BUDGET_SECONDS = 120.0
_PROGRESS_STEPS = 10_000  # SQLite VM steps between budget checks


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    description: str
    author: str
    version: int
    thumbnail: str  # a data: URI, or ""
    root_id: str
    schema: str  # the content schema version the database was read as


@dataclass(frozen=True)
class Node:
    id: str
    parent_id: str | None
    kind: str
    title: str
    description: str
    order: tuple[float, int]  # (sort_order, lft)
    license: str
    license_description: str
    license_owner: str
    author: str
    language: str | None  # a content_language id
    options: str  # JSON text, or ""
    duration: int | None


@dataclass(frozen=True)
class NodeFile:
    node_id: str
    preset: str
    supplementary: bool
    thumbnail: bool
    priority: int
    language: str | None
    md5: str
    extension: str
    size: int | None


@dataclass(frozen=True)
class Assessment:
    item_ids: str  # JSON list text
    mastery_model: str  # JSON object text
    randomize: bool


@dataclass
class ChannelData:
    channel: Channel
    nodes: list[Node]
    files: list[NodeFile]
    languages: dict[str, tuple[str, str]]  # id -> (lang_code, lang_subcode)
    assessments: dict[str, Assessment]  # node id -> its exercise's metadata
    tags: dict[str, list[str]]  # node id -> tag names


class Refused(Exception):
    """Why the database is not a channel this hub can read: a phrase after its name."""


def read_channel(path: Path, name: str) -> ChannelData:
    """Everything the hub uses from a channel database; PackError of one sentence if the
    file is not a Kolibri channel database this hub can read."""
    try:
        with _connect(path) as db:
            return _read(db)
    except Refused as why:
        raise PackError(f"{name} {why}.") from None
    except sqlite3.Error:
        raise PackError(
            f"{name} is not a Kolibri channel database (it cannot be read as one; damaged?)."
        ) from None


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    deadline = time.monotonic() + READ_BUDGET_SECONDS
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        yield db
    except sqlite3.OperationalError as err:
        if "interrupted" in str(err):
            raise Refused("took too long to read; it is not a Kolibri channel database") from None
        raise
    finally:
        db.close()


def _read(db: sqlite3.Connection) -> ChannelData:
    schema = _detect(db)
    channel = _channel(db, schema)
    nodes = _nodes(db, schema)
    return ChannelData(
        channel,
        nodes,
        _files(db, schema),
        _languages(db),
        _assessments(db) if schema.assessments else {},
        _tags(db),
    )


def _detect(db: sqlite3.Connection) -> Schema:
    kinds = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'content_%'"))
    if "content_channelmetadata" not in kinds or "content_contentnode" not in kinds:
        raise Refused("is not a Kolibri channel database (it has no channel or node tables)")
    columns = {}
    for table, kind in kinds.items():
        if kind == "table":
            rows = db.execute("SELECT name FROM pragma_table_info(?)", (table,))
            columns[str(table)] = {str(row[0]) for row in rows}
    schema = matching(columns)
    if schema is None:
        raise Refused(
            "is not a Kolibri channel database: its tables match none of Kolibri's content "
            "schema versions"
        )
    if "min_schema_version" in columns["content_channelmetadata"]:
        rows = db.execute("SELECT CAST(min_schema_version AS TEXT) FROM content_channelmetadata")
        for (declared,) in rows.fetchmany(2):
            problem = min_version_problem(str(declared or ""))
            if problem:
                raise Refused(problem)
    return schema


def _channel(db: sqlite3.Connection, schema: Schema) -> Channel:
    _refuse_long(db, "content_channelmetadata", ("name", "description", "author"))
    rows = db.execute(
        f"""SELECT id, substr(name, 1, {MAX_TITLE_CHARS}),
        substr(description, 1, {MAX_DESCRIPTION_CHARS}), substr(author, 1, {MAX_TITLE_CHARS}),
        CAST(version AS INTEGER), length(thumbnail), {schema.root_column}
        FROM content_channelmetadata LIMIT 2"""
    ).fetchall()
    if len(rows) != 1:
        raise Refused(
            f"is not a Kolibri channel database: it describes {len(rows) or 'no'} channels, not one"
        )
    cid, name, description, author, version, thumb_chars, root = rows[0]
    _hex(cid, "channel id")
    _hex(root, "root node id")
    if not isinstance(version, int) or not 0 <= version <= MAX_CHANNEL_VERSION:
        raise Refused(f"gives the channel version {version!r}, not a whole number")
    thumbnail = ""
    if thumb_chars and thumb_chars <= MAX_THUMBNAIL_CHARS:
        thumbnail = _text(db.execute("SELECT thumbnail FROM content_channelmetadata").fetchone()[0])
    return Channel(
        cid,
        _text(name),
        _text(description),
        _text(author),
        version,
        thumbnail,
        root,
        schema.name,
    )


def _nodes(db: sqlite3.Connection, schema: Schema) -> list[Node]:
    _refuse_count(db, "content_contentnode", MAX_NODES, "nodes")
    text = ["title", "description", "author", "license_owner"]
    if schema.options:
        text.append("options")
    _refuse_long(db, "content_contentnode", tuple(text))
    if schema.license_table:
        license_name = "l.license_name"
        license_text = (
            "l.license_description"
            if "license_description" in schema.tables["content_license"]
            else "NULL"
        )
        join = "LEFT JOIN content_license l ON l.id = n.license_id"
    else:
        license_name, license_text, join = "n.license_name", "n.license_description", ""
    language = "n.lang_id" if schema.node_language else "NULL"
    options = f"substr(n.options, 1, {MAX_OPTIONS_CHARS})" if schema.options else "NULL"
    duration = "CAST(n.duration AS INTEGER)" if schema.duration else "NULL"
    rows = db.execute(
        f"""SELECT n.id, n.parent_id, CAST(n.kind AS TEXT), substr(n.title, 1, {MAX_TITLE_CHARS}),
        substr(n.description, 1, {MAX_DESCRIPTION_CHARS}), CAST(n.sort_order AS REAL),
        CAST(n.lft AS INTEGER), substr({license_name}, 1, 100),
        substr({license_text}, 1, {MAX_DESCRIPTION_CHARS}),
        substr(n.license_owner, 1, {MAX_TITLE_CHARS}), substr(n.author, 1, {MAX_TITLE_CHARS}),
        {language}, {options}, {duration}
        FROM content_contentnode n {join}"""
    )
    return [_node(row) for row in rows]


def _node(row: tuple[Any, ...]) -> Node:
    nid, parent, kind, title, description, sort_order, lft = row[:7]
    license_name, license_text, owner, author, language, options, duration = row[7:]
    _hex(nid, "node id")
    if parent is not None:
        _hex(parent, "parent node id")
    if duration is not None and not 0 <= duration <= MAX_DURATION:
        duration = None  # a nonsense duration is dropped, the lesson kept
    return Node(
        nid,
        parent,
        _text(kind)[:40],
        _text(title),
        _text(description),
        (sort_order if isinstance(sort_order, float) else 0.0, lft if isinstance(lft, int) else 0),
        _text(license_name),
        _text(license_text),
        _text(owner),
        _text(author),
        _language_id(language),
        _text(options),
        duration,
    )


def _files(db: sqlite3.Connection, schema: Schema) -> list[NodeFile]:
    _refuse_count(db, "content_file", MAX_FILES, "files")
    if schema.local_files:
        source = """CAST(l.id AS TEXT), CAST(l.extension AS TEXT), CAST(l.file_size AS INTEGER)
        FROM content_file f JOIN content_localfile l ON l.id = f.local_file_id"""
    else:
        source = """CAST(f.checksum AS TEXT), CAST(f.extension AS TEXT),
        CAST(f.file_size AS INTEGER) FROM content_file f"""
    rows = db.execute(
        f"""SELECT f.contentnode_id, substr(f.preset, 1, 150), f.supplementary, f.thumbnail,
        CAST(f.priority AS INTEGER), f.lang_id, {source}"""
    )
    return [_file(row) for row in rows]


def _file(row: tuple[Any, ...]) -> NodeFile:
    node_id, preset, supplementary, thumbnail, priority, language, md5, extension, size = row
    _hex(node_id, "file's node id")
    if not isinstance(md5, str) or not HEX_ID.fullmatch(md5):
        raise Refused(f"names a content file {_shown(md5)} that is not an MD5 checksum")
    if not isinstance(extension, str) or not EXTENSION.fullmatch(extension):
        raise Refused(f"gives a content file the extension {_shown(extension)}")
    if size is not None and not 0 <= size <= MAX_FILE_BYTES:
        raise Refused(f"gives a content file the size {size!r}")
    return NodeFile(
        node_id,
        _text(preset),
        bool(supplementary),
        bool(thumbnail),
        priority if isinstance(priority, int) else 0,
        _language_id(language),
        md5,
        extension,
        size,
    )


def _languages(db: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    _refuse_count(db, "content_language", 10_000, "languages")
    rows = db.execute(
        """SELECT id, substr(lang_code, 1, 3), substr(lang_subcode, 1, 10)
        FROM content_language"""
    )
    return {str(lid): (_text(code), _text(sub)) for lid, code, sub in rows if lid is not None}


def _assessments(db: sqlite3.Connection) -> dict[str, Assessment]:
    _refuse_count(db, "content_assessmentmetadata", MAX_NODES, "exercises")
    _refuse_long(db, "content_assessmentmetadata", ("assessment_item_ids", "mastery_model"))
    rows = db.execute(
        """SELECT contentnode_id, assessment_item_ids, mastery_model, randomize
        FROM content_assessmentmetadata"""
    )
    found = {}
    for node_id, items, mastery, randomize in rows:
        if isinstance(node_id, str):
            found[node_id] = Assessment(_text(items), _text(mastery), bool(randomize))
    return found


def _tags(db: sqlite3.Connection) -> dict[str, list[str]]:
    _refuse_count(db, "content_contentnode_tags", MAX_TAGS, "tags")
    rows = db.execute(
        """SELECT nt.contentnode_id, substr(t.tag_name, 1, 100) FROM content_contentnode_tags nt
        JOIN content_contenttag t ON t.id = nt.contenttag_id"""
    )
    tags: dict[str, list[str]] = {}
    for node_id, name in rows:
        if isinstance(node_id, str) and _text(name).strip():
            tags.setdefault(node_id, []).append(_text(name).strip())
    return tags


def _refuse_count(db: sqlite3.Connection, table: str, limit: int, noun: str) -> None:
    count = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {limit + 1})")
    if count.fetchone()[0] > limit:
        raise Refused(f"holds more than {limit} {noun}; it is too large to import")


def _refuse_long(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    test = " OR ".join(f"length({column}) > {MAX_FIELD_CHARS}" for column in columns)
    if db.execute(f"SELECT 1 FROM {table} WHERE {test} LIMIT 1").fetchone():
        raise Refused(
            f"holds a text of more than {MAX_FIELD_CHARS} characters in {table}; "
            "it is not a channel Kolibri made"
        )


def _hex(value: Any, what: str) -> None:
    if not isinstance(value, str) or not HEX_ID.fullmatch(value):
        raise Refused(f"has a {what} {_shown(value)} that is not 32 hexadecimal digits")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        raise Refused("holds binary data where Kolibri writes text")
    return str(value)


def _language_id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 14 else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
