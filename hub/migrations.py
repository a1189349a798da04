"""Schema migrations, applied in order, each in its own transaction.

Migrations are plain SQL, not model classes: a model describes today's schema, a migration
must keep describing the schema of its own day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from peewee import Database

LIBRARY_V1 = """
CREATE TABLE pack (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    subjects TEXT NOT NULL DEFAULT '[]',
    grades TEXT NOT NULL DEFAULT '[]',
    license TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '',
    manifest TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    installed_at TEXT NOT NULL
);
CREATE TABLE topic (
    id INTEGER PRIMARY KEY,
    pack_id TEXT NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    topic_id TEXT NOT NULL,
    parent_id INTEGER REFERENCES topic (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    UNIQUE (pack_id, topic_id)
);
CREATE TABLE lesson (
    id INTEGER PRIMARY KEY,
    pack_id TEXT NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    lesson_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    file_path TEXT NOT NULL,
    position INTEGER NOT NULL,
    duration REAL,
    keywords TEXT NOT NULL DEFAULT '[]',
    meta TEXT NOT NULL DEFAULT '{}',
    UNIQUE (pack_id, lesson_id)
);
CREATE TABLE topic_lesson (
    id INTEGER PRIMARY KEY,
    topic_id INTEGER NOT NULL REFERENCES topic (id) ON DELETE CASCADE,
    lesson_id INTEGER NOT NULL REFERENCES lesson (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    UNIQUE (topic_id, lesson_id)
);
CREATE INDEX topic_lesson_lesson ON topic_lesson (lesson_id);
CREATE TABLE pack_file (
    id INTEGER PRIMARY KEY,
    pack_id TEXT NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    UNIQUE (pack_id, path)
);
CREATE INDEX pack_file_sha256 ON pack_file (sha256);
"""


# Counts library changes, so a derived store (the search index) can tell it is out of date.
LIBRARY_GENERATION = """
CREATE TABLE library_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO library_state (id, generation) VALUES (1, 0)
"""


PEOPLE_AND_PROGRESS = """
CREATE TABLE staff_user (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('coach', 'operator')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE learner (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    pin_hash TEXT,
    language TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE class_group (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE class_member (
    id INTEGER PRIMARY KEY,
    class_group_id INTEGER NOT NULL REFERENCES class_group (id) ON DELETE CASCADE,
    learner_id INTEGER NOT NULL REFERENCES learner (id) ON DELETE CASCADE,
    UNIQUE (class_group_id, learner_id)
);
CREATE INDEX class_member_learner ON class_member (learner_id);
CREATE TABLE assignment (
    id INTEGER PRIMARY KEY,
    class_group_id INTEGER NOT NULL REFERENCES class_group (id) ON DELETE CASCADE,
    pack_id TEXT NOT NULL,
    topic_id TEXT,
    lesson_id TEXT,
    assigned_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK ((topic_id IS NULL) <> (lesson_id IS NULL))
);
CREATE INDEX assignment_class ON assignment (class_group_id);
CREATE TABLE event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hlc INTEGER NOT NULL,
    wall_time INTEGER NOT NULL,
    boot_id TEXT NOT NULL,
    learner_id INTEGER NOT NULL REFERENCES learner (id),
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    type TEXT NOT NULL,
    fields TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX event_learner_lesson ON event (learner_id, pack_id, lesson_id);
CREATE INDEX event_hlc ON event (hlc);
CREATE TABLE progress (
    id INTEGER PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learner (id) ON DELETE CASCADE,
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    best_score REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    time_spent REAL NOT NULL DEFAULT 0,
    mastered INTEGER NOT NULL DEFAULT 0,
    last_activity INTEGER NOT NULL,
    last_hlc INTEGER NOT NULL,
    UNIQUE (learner_id, pack_id, lesson_id)
);
CREATE INDEX progress_lesson ON progress (pack_id, lesson_id)
"""


def _sql(script: str) -> Callable[[Database], None]:
    def apply(database: Database) -> None:
        for statement in filter(None, (s.strip() for s in script.split(";"))):
            database.execute_sql(statement)

    return apply


MIGRATIONS: tuple[tuple[int, str, Callable[[Database], None]], ...] = (
    (1, "library", _sql(LIBRARY_V1)),
    (2, "library generation", _sql(LIBRARY_GENERATION)),
    (3, "people and progress", _sql(PEOPLE_AND_PROGRESS)),
)


def migrate(database: Database) -> list[int]:
    """Apply every migration not yet applied; returns the versions applied now."""
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in database.execute_sql("SELECT version FROM schema_migration")}
    applied = []
    for version, name, apply in MIGRATIONS:
        if version in done:
            continue
        with database.atomic():
            apply(database)
            database.execute_sql(
                "INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat()),
            )
        applied.append(version)
    return applied
