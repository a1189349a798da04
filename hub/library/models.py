"""The library's tables, and the queries the views and services ask of them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from functools import cache
from typing import Any, TypeVar

from peewee import (
    JOIN,
    BlobField,
    BooleanField,
    CharField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    ModelSelect,
    TextField,
    fn,
)

from hub.core.db import BaseModel, db

M = TypeVar("M", bound="BaseModel")


class Pack(BaseModel):
    id = CharField(primary_key=True)
    version = CharField()
    title = CharField()
    description = TextField(default="")
    language = CharField()
    subjects = JSONField(default=list)
    grades = JSONField(default=list)
    license = CharField(default="")
    attribution = TextField(default="")
    manifest = JSONField()
    size = IntegerField(default=0)
    installed_at = CharField()

    @classmethod
    def light(cls) -> ModelSelect[Pack]:
        """Packs without their manifest: a big pack's manifest parses to megabytes, and pages,
        caches and reports only need the columns beside it."""
        return cls.select(*_PACK_LIGHT_FIELDS)

    @classmethod
    def ordered(cls) -> list[Pack]:
        return list(cls.light().order_by(cls.language, cls.title))

    @classmethod
    def by_id(cls, pack_id: str) -> Pack | None:
        """The pack without its manifest (see `light`); `with_manifest` for the whole row."""
        return _first(_fetch(cls, f"SELECT {_PACK_COLUMNS} FROM pack WHERE id = ?", pack_id))

    @classmethod
    def with_manifest(cls, pack_id: str) -> Pack | None:
        return cls.get_or_none(cls.id == pack_id)

    @classmethod
    def lesson_counts(cls) -> dict[str, int]:
        query = Lesson.select(Lesson.pack, fn.COUNT(Lesson.id).alias("n")).group_by(Lesson.pack)
        return {row.pack_id: row.n for row in query}

    def topic_tree(self) -> list[TopicNode]:
        """Topics as a tree, each with its lessons in order; lessons in no topic come last."""
        topics = list(Topic.select().where(Topic.pack == self).order_by(Topic.position))
        links = (
            TopicLesson.select(TopicLesson, Lesson)
            .join(Lesson)
            .where(Lesson.pack == self)
            .order_by(TopicLesson.position)
        )
        nodes = {t.id: TopicNode(t) for t in topics}
        for link in links:
            nodes[link.topic_id].lessons.append(link.lesson)
        roots: list[TopicNode] = []
        for topic in topics:
            parent = nodes.get(topic.parent_id)
            (parent.children if parent else roots).append(nodes[topic.id])
        return roots

    def loose_lessons(self) -> list[Lesson]:
        """Lessons that no topic lists."""
        return list(
            Lesson.select()
            .join(TopicLesson, JOIN.LEFT_OUTER)
            .where(Lesson.pack == self, TopicLesson.id.is_null())
            .order_by(Lesson.position)
        )


class Topic(BaseModel):
    pack = ForeignKeyField(Pack, on_delete="CASCADE", backref="topics")
    topic_id = CharField()
    parent = ForeignKeyField("self", null=True, on_delete="CASCADE")
    title = CharField()
    description = TextField(default="")
    position = IntegerField()


class Lesson(BaseModel):
    pack = ForeignKeyField(Pack, on_delete="CASCADE", backref="lessons")
    lesson_id = CharField()
    title = CharField()
    description = TextField(default="")
    kind = CharField()
    file_path = CharField()
    position = IntegerField()
    duration = FloatField(null=True)
    keywords = JSONField(default=list)
    meta = JSONField(default=dict)

    @classmethod
    def find(cls, pack_id: str, lesson_id: str) -> Lesson | None:
        """The lesson, with its pack (without the manifest) as `.pack`."""
        lesson = cls.row(pack_id, lesson_id)
        pack = Pack.by_id(pack_id) if lesson is not None else None
        if lesson is None or pack is None:  # no pack: removed since the lesson was read
            return None
        lesson.pack = pack
        return lesson

    @classmethod
    def row(cls, pack_id: str, lesson_id: str) -> Lesson | None:
        """The lesson alone: for a caller that keeps its packs at hand."""
        sql = f"SELECT {_LESSON_COLUMNS} FROM lesson l WHERE l.pack_id = ? AND l.lesson_id = ?"
        return _first(_fetch(cls, sql, pack_id, lesson_id))

    @classmethod
    def in_pack(cls, pack_id: str) -> list[Lesson]:
        return list(cls.select().where(cls.pack == pack_id).order_by(cls.position))

    def paths(self) -> set[str]:
        """Every pack file this lesson shows: its file, assets, subtitles and poster."""
        meta = self.meta or {}
        paths = {self.file_path, *meta.get("assets", []), *meta.get("subtitles", {}).values()}
        if meta.get("poster"):
            paths.add(meta["poster"])
        return paths

    def topic(self) -> Topic | None:
        """The first of the topics listing this lesson (by the topics' order)."""
        return _first(_fetch(Topic, _FIRST_TOPIC, self.id))

    def neighbours(self, topic: Topic | None = None) -> tuple[Lesson | None, Lesson | None]:
        """Previous and next lesson within this lesson's (first) topic, else within the pack:
        one query of two indexed lookups, whatever the size of the topic or the library.
        `topic` is this lesson's topic() when the caller has it already. The neighbours carry
        their ids, title and kind only: enough to link to them."""
        topic = topic or self.topic()
        if topic is None:
            sql, key = _LOOSE_NEIGHBOURS, (self.pack_id, self.position)
        else:
            sql, key = _LINKED_NEIGHBOURS, (topic.id, topic.link_position)
        found = {row.side: row for row in _fetch(Lesson, sql, *key, *key)}
        return found.get("previous"), found.get("next")


def _first(rows: list[M]) -> M | None:
    return rows[0] if rows else None


def _fetch(model: type[M], sql: str, *params: object) -> list[M]:
    """The rows of `sql` as `model` instances, built here: peewee's own row wrapper costs
    several times what SQLite takes to find a row by its index, and its constructor sets each
    field through its descriptor. Columns that are not fields (an alias such as
    `link_position`) become plain attributes."""
    cursor = db.execute_sql(sql, params)
    by_column = _readers(model)
    readers = [by_column.get(column[0], (column[0], None, False)) for column in cursor.description]
    found = []
    for row in cursor:
        instance = model.__new__(model)
        data: dict[str, Any] = {}
        # What peewee's constructor makes, without a descriptor call per field.
        vars(instance).update(__data__=data, _dirty=set(), __rel__={})
        for (name, read, is_field), value in zip(readers, row, strict=True):
            if read is not None and value is not None:
                value = read(value)
            if is_field:
                data[name] = value
            else:
                setattr(instance, name, value)
        found.append(instance)
    return found


# Field kinds whose values SQLite hands back as Python wants them already.
_AS_STORED = (CharField, TextField, IntegerField, FloatField, ForeignKeyField)
Reader = tuple[str, Callable[[Any], Any] | None, bool]


@cache
def _readers(model: type[BaseModel]) -> dict[str, Reader]:
    """column -> (field name, converter or None, True) for `_fetch`."""
    return {
        field.column_name: (
            field.name,
            None if isinstance(field, _AS_STORED) else field.python_value,
            True,
        )
        for field in model._meta.sorted_fields
    }


# The lesson page's queries are written as SQL: peewee builds a query's SQL in Python on every
# call (about 0.6 ms each on a 2-core x86, several times that on a Pi), far longer than SQLite
# takes to answer it from its indexes. Column lists come from the models, so they stay in step.
_PACK_LIGHT_FIELDS = [f for f in Pack._meta.sorted_fields if f is not Pack.manifest]
_PACK_COLUMNS = ", ".join(f.column_name for f in _PACK_LIGHT_FIELDS)
_LESSON_COLUMNS = ", ".join(f"l.{f.column_name}" for f in Lesson._meta.sorted_fields)
_TOPIC_COLUMNS = ", ".join(f"t.{f.column_name}" for f in Topic._meta.sorted_fields)
_FIRST_TOPIC = (
    f"SELECT {_TOPIC_COLUMNS}, tl.position AS link_position FROM topic_lesson tl"
    " JOIN topic t ON t.id = tl.topic_id WHERE tl.lesson_id = ? ORDER BY t.position LIMIT 1"
)
# A neighbour is only linked to: its ids, title and kind, not its JSON columns.
_LINK_COLUMNS = "l.id, l.pack_id, l.lesson_id, l.title, l.kind, l.position"
_LINKED = (
    f"SELECT {_LINK_COLUMNS}, '{{name}}' AS side FROM topic_lesson tl"
    " JOIN lesson l ON l.id = tl.lesson_id"
    " WHERE tl.topic_id = ? AND tl.position {side} ? ORDER BY tl.position {order} LIMIT 1"
)
# Lessons no topic lists, in the pack's order.
_LOOSE = (
    f"SELECT {_LINK_COLUMNS}, '{{name}}' AS side FROM lesson l"
    " WHERE l.pack_id = ? AND l.position {side} ?"
    " AND NOT EXISTS (SELECT 1 FROM topic_lesson tl WHERE tl.lesson_id = l.id)"
    " ORDER BY l.position {order} LIMIT 1"
)


def _both_sides(one_side: str) -> str:
    """The lesson before and the one after, in one query (each side a LIMIT 1 lookup)."""
    before = one_side.format(name="previous", side="<", order="DESC")
    after = one_side.format(name="next", side=">", order="ASC")
    return f"SELECT * FROM ({before}) UNION ALL SELECT * FROM ({after})"


_LINKED_NEIGHBOURS = _both_sides(_LINKED)
_LOOSE_NEIGHBOURS = _both_sides(_LOOSE)


class TopicLesson(BaseModel):
    topic = ForeignKeyField(Topic, on_delete="CASCADE")
    lesson = ForeignKeyField(Lesson, on_delete="CASCADE")
    position = IntegerField()


class PackFile(BaseModel):
    pack = ForeignKeyField(Pack, on_delete="CASCADE", backref="files")
    path = CharField()
    sha256 = CharField()
    size = IntegerField()
    media_type = CharField()

    @classmethod
    def find(cls, pack_id: str, path: str) -> PackFile | None:
        return _first(cls.at_paths(pack_id, [path]))

    @classmethod
    def at_paths(cls, pack_id: str, paths: Collection[str]) -> list[PackFile]:
        """The pack's files at these paths (as SQL: a lesson page asks on every miss)."""
        marks = ", ".join("?" * len(paths))
        sql = f"SELECT * FROM pack_file WHERE pack_id = ? AND path IN ({marks})"
        return _fetch(cls, sql, pack_id, *paths) if paths else []

    @classmethod
    def by_sha(cls, sha256: str, extension: str = "") -> PackFile | None:
        """A file with these bytes; among several, one whose path ends with `extension`, so the
        same bytes imported as .vtt and as .txt each keep the type recorded at import."""
        # As SQL: every file request asks, and peewee's query builder cost 20 times the query.
        sql = (
            "SELECT * FROM pack_file WHERE sha256 = ?"
            " ORDER BY lower(substr(path, -length(?))) = lower(?) DESC, id LIMIT 1"
        )
        return _first(_fetch(cls, sql, sha256, extension, extension))

    @classmethod
    def referenced_shas(cls, shas: Iterable[str]) -> set[str]:
        wanted = list(shas)
        if not wanted:
            return set()
        query = cls.select(cls.sha256).where(cls.sha256.in_(wanted)).distinct()
        return {row.sha256 for row in query}

    @classmethod
    def all_shas_of(cls, pack_id: str) -> set[str]:
        return {row.sha256 for row in cls.select(cls.sha256).where(cls.pack == pack_id)}

    @classmethod
    def all_shas(cls) -> set[str]:
        return {row.sha256 for row in cls.select(cls.sha256).distinct()}


class LibraryState(BaseModel):
    """One row: the generation, bumped in the same transaction as every library change."""

    generation = IntegerField()

    @classmethod
    def current(cls) -> int:
        # Raw SQL: asked on every page view, and peewee's query building costs more than
        # SQLite's answer.
        return db.execute_sql("SELECT generation FROM library_state WHERE id = 1").fetchone()[0]

    @classmethod
    def bump(cls) -> int:
        cls.update(generation=cls.generation + 1).where(cls.id == 1).execute()
        return cls.current()


class ZimArchive(BaseModel):
    """An installed Kiwix library (ZIM file): what it says about itself, read once from the
    checked file, and where the file is (`file_name` in the data dir's zims/ folder)."""

    name = CharField(primary_key=True)  # in URLs (/zim/<name>/...); from its Name metadata
    zim_name = CharField(default="")  # the Name metadata as written ("" when it has none)
    uuid = CharField()
    file_name = CharField(unique=True)
    title = CharField()
    description = TextField(default="")
    language = CharField(default="")  # BCP 47, like packs ("en")
    languages = CharField(default="")  # as the ZIM writes it ("eng,fra")
    creator = CharField(default="")
    publisher = CharField(default="")
    date = CharField(default="")
    license = CharField(default="")
    flavour = CharField(default="")
    tags = TextField(default="")
    article_count = IntegerField(default=0)
    media_count = IntegerField(default=0)
    entry_count = IntegerField(default=0)
    size = IntegerField()
    has_fulltext_index = BooleanField(default=False)
    has_title_index = BooleanField(default=False)
    main_path = CharField(null=True)
    illustration = BlobField(null=True)
    installed_at = CharField()
    checked_at = CharField()

    class Meta:
        table_name = "zim_archive"

    @classmethod
    def ordered(cls) -> list[ZimArchive]:
        return list(cls.select().order_by(cls.language, cls.title))

    @classmethod
    def by_name(cls, name: str) -> ZimArchive | None:
        return cls.get_or_none(cls.name == name)

    @classmethod
    def file_name_of(cls, name: str) -> str | None:
        """The installed file's name, by a plain query (a fraction of by_name's cost)."""
        row = db.execute_sql("SELECT file_name FROM zim_archive WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    @classmethod
    def by_zim_name(cls, zim_name: str) -> ZimArchive | None:
        return cls.get_or_none(cls.zim_name == zim_name) if zim_name else None

    @property
    def pack_id(self) -> str:
        """How progress events, assignments and search results name this ZIM: never a pack
        id, which has no colon."""
        return f"zim:{self.name}"


class TopicNode:
    """A topic with its lessons and sub-topics, for rendering the pack page."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self.lessons: list[Lesson] = []
        self.children: list[TopicNode] = []


MODELS = (Pack, Topic, Lesson, TopicLesson, PackFile, LibraryState, ZimArchive)
