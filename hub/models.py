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
    def ordered(cls) -> list[Pack]:
        return list(cls.select().order_by(cls.language, cls.title))

    @classmethod
    def by_id(cls, pack_id: str) -> Pack | None:
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
        return (
            cls.select(cls, Pack)
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
        """Previous and next lesson within this lesson's (first) topic, else within the pack."""
        topic = self.topic()
        if topic is None:
            siblings = self.pack.loose_lessons()
        else:
            siblings = list(
                Lesson.select()
                .join(TopicLesson)
                .where(TopicLesson.topic == topic)
                .order_by(TopicLesson.position)
            )
        ids = [lesson.id for lesson in siblings]
        at = ids.index(self.id)
        before = siblings[at - 1] if at > 0 else None
        after = siblings[at + 1] if at + 1 < len(siblings) else None
        return before, after


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
    def by_sha(cls, sha256: str) -> PackFile | None:
        return cls.select().where(cls.sha256 == sha256).first()

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
