"""Schema migrations, applied in order, each in its own transaction.

Migrations are plain SQL, not model classes: a model describes today's schema, a migration
must keep describing the schema of its own day.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from peewee import Database

from sync.migrate import Step, split_script
from sync.migrate import migrate as run_migrations

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
        for statement in split_script(script):
            database.execute_sql(statement)

    return apply


# --- 4: sync (issue 5) -------------------------------------------------------------------
# Learners, classes and assignments get a global uid (made where they are created, on a hub
# or at central) and the HLC of their last change. Triggers log every roster change, from any
# code path (pages, CLI, CSV import, cascades), stamped by an HLC kept in hub_state: the next
# stamp is above the last one even when the wall clock is set back. While a reply from central
# is being applied (hub_state.applying = 1) the triggers stay quiet: those changes are logged
# by the applier with central's stamp and origin.

SYNC_TABLES = """
ALTER TABLE learner ADD COLUMN uid TEXT;
ALTER TABLE learner ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;
ALTER TABLE class_group ADD COLUMN uid TEXT;
ALTER TABLE class_group ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignment ADD COLUMN uid TEXT;
ALTER TABLE assignment ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;
CREATE TABLE hub_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    db_token TEXT,
    epoch TEXT,
    central_url TEXT NOT NULL DEFAULT '',
    central_id TEXT,
    central_key TEXT,
    previous_bundle TEXT,
    last_reply TEXT,
    roster_hlc INTEGER NOT NULL DEFAULT 0,
    applying INTEGER NOT NULL DEFAULT 0,
    last_sync TEXT,
    last_attempt TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    budget_day TEXT NOT NULL DEFAULT '',
    budget_bytes INTEGER NOT NULL DEFAULT 0
);
INSERT INTO hub_state (id) VALUES (1);
CREATE TABLE sync_epoch (
    epoch TEXT PRIMARY KEY,
    base_seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE TABLE sent_bundle (
    bundle_id TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    seq_first INTEGER,
    seq_last INTEGER,
    roster_first INTEGER,
    roster_last INTEGER,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    receipted_at TEXT,
    upload_url TEXT,
    upload_id TEXT
);
CREATE INDEX sent_bundle_waiting ON sent_bundle (receipted_at, epoch);
CREATE TABLE receipt (
    epoch TEXT PRIMARY KEY,
    high_water INTEGER NOT NULL,
    bundles TEXT NOT NULL DEFAULT '[]',
    received_at TEXT NOT NULL
);
CREATE TABLE roster_change (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('learner', 'class', 'member', 'assignment')),
    uid TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    wire_uid TEXT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX roster_change_uid ON roster_change (kind, uid, hlc)
"""

# The next HLC: wall milliseconds in the high bits, or one above the last stamp when the wall
# clock is behind it (the same rule as sync.hlc.HybridClock).
_NEXT_HLC = (
    "UPDATE hub_state SET roster_hlc = MAX(roster_hlc + 1, "
    "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) << 16) WHERE id = 1"
)
_LAST_HLC = "(SELECT roster_hlc FROM hub_state WHERE id = 1)"
_QUIET = "(SELECT applying FROM hub_state WHERE id = 1) = 0"


def _logging_trigger(name: str, when: str, table: str, condition: str, body: list[str]) -> str:
    statements = ";\n  ".join([_NEXT_HLC, *body])
    return (
        f"CREATE TRIGGER {name} AFTER {when} ON {table} WHEN {_QUIET}{condition}\n"
        f"BEGIN\n  {statements};\nEND"
    )


def _row_triggers(table: str, kind: str, watched: tuple[str, ...], alive: str = "") -> list[str]:
    """Insert, update of a watched column, delete: stamp the row and log the change."""
    # A row written by raw SQL without a uid still gets one (peewee's models make their own).
    stamp = (
        f"UPDATE {table} SET hlc = {_LAST_HLC}, uid = COALESCE(uid, lower(hex(randomblob(16)))) "
        "WHERE id = NEW.id"
    )

    def log(row: str, deleted: int) -> str:
        uid = f"(SELECT uid FROM {table} WHERE id = NEW.id)" if row == "NEW" else "OLD.uid"
        return (
            "INSERT INTO roster_change (kind, uid, hlc, deleted) "
            f"VALUES ('{kind}', {uid}, {_LAST_HLC}, {deleted})"
        )

    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in watched)
    return [
        _logging_trigger(f"{table}_logged_insert", "INSERT", table, "", [stamp, log("NEW", 0)]),
        _logging_trigger(
            f"{table}_logged_update", "UPDATE", table, f" AND ({changed})", [stamp, log("NEW", 0)]
        ),
        _logging_trigger(f"{table}_logged_delete", "DELETE", table, alive, [log("OLD", 1)]),
    ]


def _member_triggers() -> list[str]:
    """A membership's identity is (class uid, learner uid): logged as the two joined by ':'."""

    def log(row: str, deleted: int) -> str:
        uid = (
            f"(SELECT uid FROM class_group WHERE id = {row}.class_group_id) || ':' || "
            f"(SELECT uid FROM learner WHERE id = {row}.learner_id)"
        )
        return (
            "INSERT INTO roster_change (kind, uid, hlc, deleted) "
            f"VALUES ('member', {uid}, {_LAST_HLC}, {deleted})"
        )

    # A membership that goes because its class or learner went is not a change of its own.
    both_alive = (
        " AND EXISTS (SELECT 1 FROM class_group WHERE id = OLD.class_group_id)"
        " AND EXISTS (SELECT 1 FROM learner WHERE id = OLD.learner_id)"
    )
    return [
        _logging_trigger(
            "class_member_logged_insert", "INSERT", "class_member", "", [log("NEW", 0)]
        ),
        _logging_trigger(
            "class_member_logged_delete", "DELETE", "class_member", both_alive, [log("OLD", 1)]
        ),
    ]


def _sync(database: Database) -> None:
    _sql(SYNC_TABLES)(database)
    for table in ("learner", "class_group", "assignment"):
        ids = [row[0] for row in database.execute_sql(f"SELECT id FROM {table}")]
        for row_id in ids:
            database.execute_sql(
                f"UPDATE {table} SET uid = ? WHERE id = ?", (uuid.uuid4().hex, row_id)
            )
        database.execute_sql(f"CREATE UNIQUE INDEX {table}_uid ON {table} (uid)")
    triggers = [
        *_row_triggers("learner", "learner", ("username", "display_name", "pin_hash", "language")),
        *_row_triggers("class_group", "class", ("name",)),
        *_row_triggers(
            "assignment",
            "assignment",
            ("class_group_id", "pack_id", "topic_id", "lesson_id", "assigned_by"),
            " AND EXISTS (SELECT 1 FROM class_group WHERE id = OLD.class_group_id)",
        ),
        *_member_triggers(),
    ]
    for trigger in triggers:
        database.execute_sql(trigger)


# --- 5: sessions that can be ended (security: sign-in) ------------------------------------
# A signed-in session is a row here; the cookie names it. Triggers end an account's sessions
# when its PIN, password or role changes, from any code path (pages, CLI, a roster from
# central); the foreign keys end them when the account goes.

SIGNIN_SESSIONS = (
    """CREATE TABLE signin_session (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    learner_id INTEGER REFERENCES learner (id) ON DELETE CASCADE,
    staff_id INTEGER REFERENCES staff_user (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    CHECK ((learner_id IS NULL) <> (staff_id IS NULL))
)""",
    "CREATE INDEX signin_session_learner ON signin_session (learner_id)",
    "CREATE INDEX signin_session_staff ON signin_session (staff_id)",
    """CREATE TRIGGER signin_session_pin_changed AFTER UPDATE OF pin_hash ON learner
WHEN OLD.pin_hash IS NOT NEW.pin_hash
BEGIN
  DELETE FROM signin_session WHERE learner_id = NEW.id;
END""",
    """CREATE TRIGGER signin_session_password_changed
AFTER UPDATE OF password_hash, role ON staff_user
WHEN OLD.password_hash IS NOT NEW.password_hash OR OLD.role IS NOT NEW.role
BEGIN
  DELETE FROM signin_session WHERE staff_id = NEW.id;
END""",
)


def _statements(statements: tuple[str, ...]) -> Callable[[Database], None]:
    """Like _sql, for statements that hold semicolons of their own (triggers)."""

    def apply(database: Database) -> None:
        for statement in statements:
            database.execute_sql(statement)

    return apply


# --- 6: Kiwix libraries (ZIM files) ----------------------------------------------------------
# One row per installed ZIM, named for its URLs (/zim/<name>/...) after its Name metadata; the
# file itself lives in the data dir's zims/ folder. What a search, a catalog or a copy between
# hubs needs is here, read once from the checked file.

ZIM_ARCHIVES = """
CREATE TABLE zim_archive (
    name TEXT PRIMARY KEY,
    zim_name TEXT NOT NULL DEFAULT '',
    uuid TEXT NOT NULL,
    file_name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    languages TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL DEFAULT '',
    publisher TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    license TEXT NOT NULL DEFAULT '',
    flavour TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    article_count INTEGER NOT NULL DEFAULT 0,
    media_count INTEGER NOT NULL DEFAULT 0,
    entry_count INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    has_fulltext_index INTEGER NOT NULL DEFAULT 0,
    has_title_index INTEGER NOT NULL DEFAULT 0,
    main_path TEXT,
    illustration BLOB,
    installed_at TEXT NOT NULL,
    checked_at TEXT NOT NULL
)
"""


# --- 7: quizzes taken one question at a time (issue 14) ----------------------------------
# A learner's (or a visitor's) latest attempt at each exercise: the questions drawn for it and
# the answers so far, so a quiz resumes where it was left. AUTOINCREMENT: an id is never
# given again, so a page left open on an old attempt can never answer a newer one.

QUIZ_ATTEMPTS = """
CREATE TABLE quiz_attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id INTEGER REFERENCES learner (id) ON DELETE CASCADE,
    visitor TEXT,
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    seed INTEGER NOT NULL,
    questions TEXT NOT NULL,
    answers TEXT NOT NULL,
    answered INTEGER NOT NULL,
    event_seq INTEGER,
    CHECK ((learner_id IS NULL) <> (visitor IS NULL))
);
CREATE UNIQUE INDEX quiz_attempt_learner ON quiz_attempt (learner_id, pack_id, lesson_id);
CREATE UNIQUE INDEX quiz_attempt_visitor ON quiz_attempt (visitor, pack_id, lesson_id);
"""


# --- 8: packs made on the admin pages (issue 16) ------------------------------------------
# A pack being made: its details and the teacher's choices for each file (title, place,
# topic) as JSON keyed by file name; its files live under drafts/<id>/ in the data dir.
# An upload in progress belongs to a draft, or (draft_id NULL) is a pack or ZIM to import.

OWN_PACKS = """
CREATE TABLE draft_pack (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pack_id TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    license TEXT NOT NULL,
    lessons TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    published_version TEXT
);
CREATE TABLE draft_upload (
    upload_id TEXT PRIMARY KEY,
    draft_id INTEGER REFERENCES draft_pack (id) ON DELETE CASCADE,
    owner_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    touched REAL NOT NULL
);
"""


# Issue #18 part 1: this hub's packs offered to central's shared catalog, the catalog as of
# the last reply, and the catalog packs picked here.
SHARED_PACKS = """
CREATE TABLE shared_offer (
    pack_id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    sent_hlc INTEGER NOT NULL DEFAULT 0,
    sent_files TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    hubs INTEGER,
    learners INTEGER,
    completion REAL,
    mastery REAL
);
CREATE TABLE shared_pick (
    pack_id TEXT PRIMARY KEY,
    hlc INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    sent_hlc INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT ''
);
CREATE TABLE shared_listing (
    pack_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    record TEXT NOT NULL
);
"""


# Letters between partner classes (hub/learning/letters.py). direction: out (written here) or
# in (from the partner class). state: out draft..read, in waiting/shown/declined.
# reported: the state of an incoming letter last put into a bundle for central.
LETTERS = """
CREATE TABLE class_partner (
    uid TEXT PRIMARY KEY,
    class_uid TEXT NOT NULL,
    partner_class_uid TEXT NOT NULL,
    partner_class TEXT NOT NULL,
    partner_hub TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    class_uid TEXT NOT NULL,
    partner_class_uid TEXT NOT NULL,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',
    authors TEXT NOT NULL DEFAULT '[]',
    from_name TEXT NOT NULL DEFAULT '',
    hlc INTEGER NOT NULL,
    state TEXT NOT NULL,
    sent_bundle TEXT,
    reported TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX letter_class ON letter (class_uid, direction, state);
"""

# Finding a partner class (hub/learning/partners.py): this hub's classes looking for one (sent
# while hlc > sent_hlc), the directory of other hubs' classes as of the last reply, and the
# proposals from and to this hub's classes (answer: this coach's, sent once bundled).
PARTNERS = """
CREATE TABLE partner_seek (
    class_uid TEXT PRIMARY KEY,
    languages TEXT NOT NULL,
    grade TEXT NOT NULL,
    note TEXT NOT NULL,
    hlc INTEGER NOT NULL,
    active INTEGER NOT NULL,
    sent_hlc INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE partner_listing (
    class_uid TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    class_name TEXT NOT NULL,
    hub_name TEXT NOT NULL,
    region TEXT NOT NULL,
    languages TEXT NOT NULL,
    grade TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE partner_proposal (
    uid TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    class_uid TEXT NOT NULL,
    partner_class_uid TEXT NOT NULL,
    partner_class TEXT NOT NULL,
    partner_hub TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT '',
    languages TEXT NOT NULL DEFAULT '[]',
    grade TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    hlc INTEGER NOT NULL,
    state TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    sent INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
"""

MIGRATIONS: tuple[Step, ...] = (
    (1, "library", _sql(LIBRARY_V1)),
    (2, "library generation", _sql(LIBRARY_GENERATION)),
    (3, "people and progress", _sql(PEOPLE_AND_PROGRESS)),
    (4, "sync", _sync),
    (5, "signin sessions", _statements(SIGNIN_SESSIONS)),
    (6, "zim archives", _sql(ZIM_ARCHIVES)),
    (7, "quiz attempts", _sql(QUIZ_ATTEMPTS)),
    (8, "own packs", _sql(OWN_PACKS)),
    (9, "shared packs", _sql(SHARED_PACKS)),
    (10, "letters", _sql(LETTERS)),
    (11, "partner classes", _sql(PARTNERS)),
)


def migrate(database: Database) -> list[int]:
    """Apply every migration not yet applied (by the runner central uses too); returns the
    versions applied now. Refuses (SchemaTooNew) a database a newer hub migrated."""
    return run_migrations(database, "schema_migration", MIGRATIONS)
