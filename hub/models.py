"""The library's tables, and the queries the views and services ask of them."""

from __future__ import annotations

from collections.abc import Iterable

from peewee import (
    JOIN,
    CharField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    ModelSelect,
    TextField,
    fn,
)

from hub.db import db


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


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
    def light(cls) -> ModelSelect:
        """Packs without their manifest: a big pack's manifest parses to megabytes, and pages,
        caches and reports only need the columns beside it."""
        return cls.select(*[f for f in cls._meta.sorted_fields if f is not cls.manifest])

    @classmethod
    def ordered(cls) -> list[Pack]:
        return list(cls.light().order_by(cls.language, cls.title))

    @classmethod
    def by_id(cls, pack_id: str) -> Pack | None:
        """The pack without its manifest (see `light`); `with_manifest` for the whole row."""
        return cls.light().where(cls.id == pack_id).get_or_none()

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
        roots = []
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
        pack_columns = [f for f in Pack._meta.sorted_fields if f is not Pack.manifest]
        return (
            cls.select(cls, *pack_columns)
            .join(Pack)
            .where(cls.pack == pack_id, cls.lesson_id == lesson_id)
            .get_or_none()
        )

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
        link = (
            TopicLesson.select(TopicLesson, Topic)
            .join(Topic)
            .where(TopicLesson.lesson == self)
            .order_by(Topic.position)
            .first()
        )
        return link.topic if link else None

    def neighbours(self) -> tuple[Lesson | None, Lesson | None]:
        """Previous and next lesson within this lesson's (first) topic, else within the pack:
        two small indexed queries each, whatever the size of the topic or the library."""
        link = self._first_link()
        if link is None:
            return self._loose_neighbour(before=True), self._loose_neighbour(before=False)
        return _linked_neighbour(link, before=True), _linked_neighbour(link, before=False)

    def _first_link(self) -> TopicLesson | None:
        return (
            TopicLesson.select(TopicLesson.topic, TopicLesson.position)
            .join(Topic)
            .where(TopicLesson.lesson == self)
            .order_by(Topic.position)
            .first()
        )

    def _loose_neighbour(self, *, before: bool) -> Lesson | None:
        """The nearest lesson of the pack that no topic lists, before or after this one."""
        unlisted = ~fn.EXISTS(TopicLesson.select().where(TopicLesson.lesson == Lesson.id))
        side = Lesson.position < self.position if before else Lesson.position > self.position
        order = Lesson.position.desc() if before else Lesson.position
        return (
            Lesson.select()
            .where(Lesson.pack == self.pack_id, side, unlisted)
            .order_by(order)
            .first()
        )


def _linked_neighbour(link: TopicLesson, *, before: bool) -> Lesson | None:
    position = TopicLesson.position
    side = position < link.position if before else position > link.position
    return (
        Lesson.select()
        .join(TopicLesson)
        .where(TopicLesson.topic == link.topic_id, side)
        .order_by(position.desc() if before else position)
        .first()
    )


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
        return cls.get_or_none(cls.pack == pack_id, cls.path == path)

    @classmethod
    def by_sha(cls, sha256: str, extension: str = "") -> PackFile | None:
        """A file with these bytes; among several, one whose path ends with `extension`, so the
        same bytes imported as .vtt and as .txt each keep the type recorded at import."""
        query = cls.select().where(cls.sha256 == sha256)
        if extension:
            query = query.order_by(cls.path.endswith(extension).desc(), cls.id)
        return query.first()

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


class TopicNode:
    """A topic with its lessons and sub-topics, for rendering the pack page."""

    def __init__(self, topic: Topic) -> None:
        self.topic = topic
        self.lessons: list[Lesson] = []
        self.children: list[TopicNode] = []


MODELS = (Pack, Topic, Lesson, TopicLesson, PackFile, LibraryState)
