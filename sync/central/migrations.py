"""Central's schema migrations: plain SQL for SQLite and PostgreSQL, applied in order, each in
its own transaction. `{pk}` and `{float}` are the only words the two dialects spell apart.

Times are wall milliseconds (BIGINT); JSON is TEXT, read and written by Python on both.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Database

from sync.central.db import central_db, is_postgres, writing
from sync.migrate import Step, split_script
from sync.migrate import migrate as run_migrations

CENTRAL_V1 = """
CREATE TABLE hub (
    hub_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
    requested_at BIGINT,
    enrolled_at BIGINT,
    revoked_at BIGINT,
    last_contact BIGINT,
    last_bundle_in TEXT,
    last_bundle_out TEXT,
    have TEXT NOT NULL DEFAULT '{}',
    have_created BIGINT NOT NULL DEFAULT 0,
    roster_acked BIGINT NOT NULL DEFAULT 0,
    events BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE stream (
    id {pk},
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    epoch TEXT NOT NULL,
    start_seq BIGINT NOT NULL,
    high_water BIGINT NOT NULL,
    max_seq BIGINT NOT NULL DEFAULT 0,
    events BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    UNIQUE (hub_id, epoch)
);
CREATE TABLE stream_range (
    stream_id BIGINT NOT NULL REFERENCES stream (id),
    seq_first BIGINT NOT NULL,
    seq_last BIGINT NOT NULL,
    PRIMARY KEY (stream_id, seq_first, seq_last)
);
CREATE TABLE event (
    stream_id BIGINT NOT NULL REFERENCES stream (id),
    seq BIGINT NOT NULL,
    hlc BIGINT NOT NULL,
    wall BIGINT NOT NULL,
    learner_uid TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    type TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
);
CREATE TABLE quarantine (
    id {pk},
    stream_id BIGINT NOT NULL REFERENCES stream (id),
    seq BIGINT NOT NULL,
    bundle_id TEXT NOT NULL,
    received BIGINT NOT NULL,
    hlc BIGINT NOT NULL,
    wall BIGINT NOT NULL,
    learner_uid TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    type TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX quarantine_key ON quarantine (stream_id, seq);
CREATE TABLE progress (
    learner_uid TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    progress {float} NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    mastered INTEGER NOT NULL DEFAULT 0,
    best_score {float},
    attempts BIGINT NOT NULL DEFAULT 0,
    time_spent {float} NOT NULL DEFAULT 0,
    last_activity BIGINT NOT NULL,
    last_hlc BIGINT NOT NULL,
    PRIMARY KEY (learner_uid, pack_id, lesson_id)
);
CREATE INDEX progress_lesson ON progress (pack_id, lesson_id);
CREATE TABLE learner_hub (
    learner_uid TEXT NOT NULL,
    hub_id TEXT NOT NULL,
    events BIGINT NOT NULL,
    last_activity BIGINT NOT NULL,
    PRIMARY KEY (learner_uid, hub_id)
);
CREATE INDEX learner_hub_hub ON learner_hub (hub_id);
CREATE TABLE bundle_in (
    bundle_id TEXT PRIMARY KEY,
    hub_id TEXT NOT NULL,
    epoch TEXT NOT NULL,
    seq_first BIGINT,
    seq_last BIGINT,
    created BIGINT NOT NULL,
    received BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    quarantined BIGINT NOT NULL
);
CREATE INDEX bundle_in_hub ON bundle_in (hub_id, received);
CREATE TABLE roster (
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    origin TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    class_uid TEXT,
    learner_uid TEXT,
    record TEXT NOT NULL,
    change BIGINT NOT NULL,
    PRIMARY KEY (kind, uid)
);
CREATE INDEX roster_change ON roster (change);
CREATE INDEX roster_class ON roster (class_uid);
CREATE TABLE roster_target (
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    PRIMARY KEY (kind, uid, hub_id)
);
CREATE TABLE pack_release (
    pack_id TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    pack_json TEXT NOT NULL,
    files TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (pack_id, version)
);
CREATE TABLE pack_target (
    pack_id TEXT NOT NULL,
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (pack_id, hub_id)
);
CREATE TABLE reply (
    reply_id TEXT PRIMARY KEY,
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    bundle_id TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL,
    roster_upto BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX reply_hub ON reply (hub_id, created);
CREATE TABLE staff (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
)
"""

# Who owns each learner and class (the hub, or central, that made it: only it, and the hubs
# central sends it to, may change it), and what hubs sent that central kept aside for staff.
OWNERS_AND_QUARANTINE = """
ALTER TABLE roster ADD COLUMN owner TEXT NOT NULL DEFAULT '';
UPDATE roster SET owner = origin;
CREATE TABLE quarantine_item (
    id {pk},
    hub_id TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    uid TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    record TEXT NOT NULL,
    received BIGINT NOT NULL,
    UNIQUE (bundle_id, kind, uid, ref)
);
CREATE INDEX quarantine_item_received ON quarantine_item (received)
"""

# A staff member's signed-in session is a row here and the cookie names it, so signing out
# (or removing the account) ends every copy of the cookie at once.
STAFF_SESSIONS = """
CREATE TABLE staff_session (
    id {pk},
    token TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL REFERENCES staff (username) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_session_username ON staff_session (username)
"""

# Kiwix libraries (ZIM files) central sends to hubs: each edition central holds (by its uuid),
# the ZIM names assigned to each hub, and the uuids a hub last said it has (NULL: the hub
# never said, so it may not understand a reply's zims part).
ZIMS = """
ALTER TABLE hub ADD COLUMN have_zims TEXT;
CREATE TABLE zim_release (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    zim_name TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    date TEXT NOT NULL,
    size BIGINT NOT NULL,
    md5 TEXT NOT NULL,
    file TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
CREATE INDEX zim_release_name ON zim_release (name);
CREATE TABLE zim_target (
    name TEXT NOT NULL,
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (name, hub_id)
)
"""

# Issue #18 part 1: packs teachers share through central, and the hubs that picked them.
SHARED_PACKS = """
ALTER TABLE hub ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE hub ADD COLUMN reads_shared INTEGER NOT NULL DEFAULT 0;
CREATE TABLE shared_offer (
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    pack_id TEXT NOT NULL,
    version TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    author TEXT NOT NULL,
    license TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    description TEXT NOT NULL,
    pack_json TEXT NOT NULL,
    files TEXT NOT NULL,
    size BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    accepted_version TEXT,
    received BIGINT NOT NULL,
    reviewed_at BIGINT,
    reviewed_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (hub_id, pack_id)
);
CREATE TABLE shared_pick (
    hub_id TEXT NOT NULL REFERENCES hub (hub_id),
    pack_id TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (hub_id, pack_id)
)
"""

# Outcomes (sync/central/outcomes.py): the version of a reply's outcomes part the hub last said
# it reads (0: none, so it is sent none). Hubs are compared within their region (migration 5).
OUTCOMES = """
ALTER TABLE hub ADD COLUMN outcomes INTEGER NOT NULL DEFAULT 0
"""

# Pairings of classes on different hubs, and the letters between them (sync/central/letters.py).
# A letter's told/told_reply: the state last sent to its writers' hub and in which reply;
# acked: the state that hub confirmed (by naming that reply in a later bundle).
LETTERS = """
CREATE TABLE class_pair (
    uid TEXT PRIMARY KEY,
    class_a TEXT NOT NULL,
    hub_a TEXT NOT NULL,
    class_b TEXT NOT NULL,
    hub_b TEXT NOT NULL,
    state TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX class_pair_a ON class_pair (class_a);
CREATE INDEX class_pair_b ON class_pair (class_b);
CREATE TABLE letter (
    uid TEXT PRIMARY KEY,
    from_hub TEXT NOT NULL,
    from_class TEXT NOT NULL,
    to_hub TEXT NOT NULL,
    to_class TEXT NOT NULL,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    attachments TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    received BIGINT NOT NULL,
    state TEXT NOT NULL,
    told TEXT NOT NULL DEFAULT '',
    told_reply TEXT NOT NULL DEFAULT '',
    acked TEXT NOT NULL DEFAULT ''
);
CREATE INDEX letter_to ON letter (to_hub, state);
CREATE INDEX letter_from ON letter (from_hub, state);
ALTER TABLE hub ADD COLUMN reads_letters INTEGER NOT NULL DEFAULT 0;
"""

# Finding a partner class (sync/central/partners.py): classes whose coach looks for a partner
# (the latest word of their hub by hlc) and coaches' proposals, with the pairing an accepted
# one made.
PARTNERS = """
CREATE TABLE partner_seek (
    class_uid TEXT PRIMARY KEY,
    hub_id TEXT NOT NULL,
    languages TEXT NOT NULL,
    grade TEXT NOT NULL,
    note TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    active INTEGER NOT NULL,
    received BIGINT NOT NULL
);
CREATE INDEX partner_seek_open ON partner_seek (active, received);
CREATE TABLE partner_proposal (
    uid TEXT PRIMARY KEY,
    from_hub TEXT NOT NULL,
    from_class TEXT NOT NULL,
    to_hub TEXT NOT NULL,
    to_class TEXT NOT NULL,
    note TEXT NOT NULL,
    hlc BIGINT NOT NULL,
    state TEXT NOT NULL,
    received BIGINT NOT NULL,
    decided BIGINT,
    pair_uid TEXT NOT NULL DEFAULT ''
);
CREATE INDEX partner_proposal_from ON partner_proposal (from_hub);
CREATE INDEX partner_proposal_to ON partner_proposal (to_hub);
"""

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "central", CENTRAL_V1),
    (2, "owners and quarantine", OWNERS_AND_QUARANTINE),
    (3, "staff sessions", STAFF_SESSIONS),
    (4, "zims", ZIMS),
    (5, "shared packs", SHARED_PACKS),
    (6, "outcomes", OUTCOMES),
    (7, "letters", LETTERS),
    (8, "partner classes", PARTNERS),
)

_WORDS = {
    False: {"pk": "INTEGER PRIMARY KEY", "float": "REAL"},
    True: {"pk": "BIGSERIAL PRIMARY KEY", "float": "DOUBLE PRECISION"},
}


def migrate() -> list[int]:
    """Apply every migration not yet applied (by the runner the hub uses too); returns the
    versions applied now. Safe when two central processes start at once: each step is checked
    inside the write lock. Refuses (SchemaTooNew) a database a newer central migrated."""
    steps: list[Step] = [(version, name, _applier(script)) for version, name, script in MIGRATIONS]
    # The database the proxy is bound to: the runner takes a Database.
    return run_migrations(central_db.obj, "central_migration", steps, transaction=writing)


def _applier(script: str) -> Callable[[Database], None]:
    def apply(database: Database) -> None:
        for statement in split_script(_spelled(script)):
            database.execute_sql(statement)

    return apply


def _spelled(script: str) -> str:
    for word, spelling in _WORDS[is_postgres()].items():
        script = script.replace("{" + word + "}", spelling)
    return script
