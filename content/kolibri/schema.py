"""Kolibri's published content schema versions, as this hub reads them.

Kolibri keeps one SQLAlchemy description per schema version of a channel database
(kolibri/core/content/contentschema/versions/content_schema_*.py). A database is read the way
Kolibri's own Bridge reads it: the first version, newest first, whose tables hold every column
that version declares. `min_schema_version`, when the database has it, must name a version
this hub knows; a newer one is refused rather than misread. Only the tables the hub reads are
listed here, with the columns each version declares for them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Newest first, as Kolibri tries them (schema_versions.CONTENT_DB_SCHEMA_VERSIONS).
NEWEST_NUMBERED = 5

_LANGUAGE = {"id", "lang_code", "lang_subcode", "lang_name", "lang_direction"}
_ASSESSMENT = {
    "id",
    "assessment_item_ids",
    "number_of_assessments",
    "mastery_model",
    "randomize",
    "is_manipulable",
    "contentnode_id",
}
_TAGS = {"content_contentnode_tags": {"id", "contentnode_id", "contenttag_id"}}
_TAG_NAMES = {"content_contenttag": {"id", "tag_name"}}
_NODE_1 = {
    "id", "title", "content_id", "channel_id", "description", "sort_order", "license_owner",
    "author", "kind", "available", "stemmed_metaphone", "lft", "rght", "tree_id", "level",
    "lang_id", "license_description", "license_name", "parent_id",
}  # fmt: skip
_NODE_3 = (_NODE_1 | {"coach_content"}) - {"stemmed_metaphone"}
_NODE_5_LABELS = {
    "grade_levels", "resource_types", "learning_activities", "accessibility_labels",
    "categories", "learner_needs", "duration",
}  # fmt: skip
_FILE_1 = {
    "id", "available", "preset", "supplementary", "thumbnail", "priority", "contentnode_id",
    "lang_id", "local_file_id",
}  # fmt: skip
_LOCALFILE = {"id", "extension", "available", "file_size"}
_CHANNEL_1 = {
    "id", "name", "description", "author", "version", "thumbnail", "last_updated",
    "min_schema_version", "root_id",
}  # fmt: skip
_OLD_CHANNEL = {"id", "name", "description", "author", "version", "thumbnail", "root_pk"}
_OLD_NODE = {
    "id", "title", "content_id", "description", "sort_order", "license_owner", "author",
    "kind", "available", "stemmed_metaphone", "lft", "rght", "tree_id", "level", "license_id",
    "parent_id",
}  # fmt: skip
_OLD_FILE = {
    "id", "checksum", "extension", "available", "file_size", "preset", "supplementary",
    "thumbnail", "priority", "contentnode_id", "lang_id",
}  # fmt: skip


@dataclass(frozen=True)
class Schema:
    """One content schema version: the columns it declares, and where its fields live."""

    name: str
    tables: dict[str, set[str]]
    license_table: bool = False  # licences in content_license (before schema 1)
    local_files: bool = True  # a File row points at a LocalFile named by its MD5
    node_language: bool = True
    options: bool = False  # completion criteria and the like (schema 4)
    duration: bool = False  # schema 5
    root_column: str = "root_id"

    @property
    def assessments(self) -> bool:
        return "content_assessmentmetadata" in self.tables


def _numbered(node: set[str], file: set[str], channel: set[str]) -> dict[str, set[str]]:
    return {
        "content_channelmetadata": channel,
        "content_contentnode": node,
        "content_file": file,
        "content_localfile": _LOCALFILE,
        "content_language": _LANGUAGE,
        "content_assessmentmetadata": _ASSESSMENT,
        **_TAGS,
        **_TAG_NAMES,
    }


def _old(node: set[str], language: set[str], license_columns: set[str]) -> dict[str, set[str]]:
    return {
        "content_channelmetadata": _OLD_CHANNEL,
        "content_contentnode": node,
        "content_file": _OLD_FILE,
        "content_language": language,
        "content_license": license_columns,
        **_TAGS,
        **_TAG_NAMES,
    }


_FILE_3 = _FILE_1 - {"available"}
_CHANNEL_4 = _CHANNEL_1 | {"tagline"}
_LICENSE = {"id", "license_name", "license_description"}
VERSIONS: tuple[Schema, ...] = (
    Schema(
        "5",
        _numbered(_NODE_3 | {"options"} | _NODE_5_LABELS, _FILE_3, _CHANNEL_4),
        options=True,
        duration=True,
    ),
    Schema("4", _numbered(_NODE_3 | {"options"}, _FILE_3, _CHANNEL_4), options=True),
    Schema("3", _numbered(_NODE_3, _FILE_3, _CHANNEL_1)),
    Schema("2", _numbered(_NODE_1 | {"coach_content"}, _FILE_1, _CHANNEL_1)),
    Schema("1", _numbered(_NODE_1, _FILE_1, _CHANNEL_1)),
    Schema(
        "unversioned",
        {
            **_old(_OLD_NODE | {"lang_id"}, _LANGUAGE, _LICENSE),
            "content_assessmentmetadata": _ASSESSMENT,
        },
        license_table=True,
        local_files=False,
        root_column="root_pk",
    ),
    Schema(
        "v0.4.0-beta3",
        {
            **_old(_OLD_NODE, {"id", "lang_code", "lang_subcode"}, _LICENSE),
            "content_assessmentmetadata": _ASSESSMENT,
        },
        license_table=True,
        local_files=False,
        node_language=False,
        root_column="root_pk",
    ),
    Schema(
        "v0.2.0-beta1",
        _old(_OLD_NODE, {"id", "lang_code", "lang_subcode"}, {"id", "license_name"}),
        license_table=True,
        local_files=False,
        node_language=False,
        root_column="root_pk",
    ),
)
KNOWN_MIN_VERSIONS = {schema.name for schema in VERSIONS}


def matching(columns: dict[str, set[str]]) -> Schema | None:
    """The first version, newest first, whose every declared table and column the database
    has (its tables -> their columns); None when none fits."""
    for schema in VERSIONS:
        if all(wanted <= columns.get(table, set()) for table, wanted in schema.tables.items()):
            return schema
    return None


def min_version_problem(declared: str) -> str | None:
    """Why a database's min_schema_version cannot be read here (a phrase), or None."""
    if declared in KNOWN_MIN_VERSIONS:
        return None
    if declared.isdigit() and int(declared) > NEWEST_NUMBERED:
        return (
            f"was made for Kolibri content schema {declared}, newer than this hub reads "
            f"(up to {NEWEST_NUMBERED}); update the hub to import it"
        )
    shown = declared[:40]
    return f"declares an unknown Kolibri content schema version ({shown!r})"
