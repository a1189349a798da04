"""The peewee models describe the schema the migrations build: a field added to a model without
a migration (or a migration that drops or renames a column a model still uses) fails here, not
on the first insert in a classroom. Checked on a fresh SQLite database for the hub and for
central: every model's table and columns (name, type affinity, nullability, primary key), no
NOT NULL column without a default that the model cannot fill, and the model's unique fields."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import CharField, CompositeKey, Field, ForeignKeyField, Model, SqliteDatabase

import hub
import sync.central
from hub.core.db import BaseModel
from hub.core.migrations import migrate as migrate_hub
from sync.central.db import central_db, open_central
from sync.central.migrations import migrate as migrate_central
from sync.central.models import CentralModel


def all_models(package: object, base: type[Model]) -> list[type[Model]]:
    """Every model under `package`, wherever a module defines one (importing them all)."""
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[Model]] = []
    todo = [base]
    while todo:
        for model in todo.pop().__subclasses__():
            todo.append(model)
            found.append(model)
    return sorted(found, key=lambda model: model._meta.table_name)


def affinity(declared: str) -> str:
    """SQLite's type affinity for a declared column type (https://sqlite.org/datatype3.html)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared:
        return "BLOB"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def model_type(field: Field, database: SqliteDatabase) -> str:
    if isinstance(field, ForeignKeyField):
        field = field.rel_field
    kind = field.field_type
    return database.field_types.get(kind, kind) if kind != "AUTO" else "INTEGER"


def columns(database: SqliteDatabase, table: str) -> dict[str, tuple]:
    """name -> (type, notnull, default, pk) as SQLite says."""
    rows = database.execute_sql(f'PRAGMA table_info("{table}")').fetchall()
    return {
        name: (kind, bool(notnull), default, bool(pk))
        for _, name, kind, notnull, default, pk in rows
    }


def unique_column_sets(database: SqliteDatabase, table: str) -> set[tuple[str, ...]]:
    found = set()
    for _, name, unique, *_ in database.execute_sql(f'PRAGMA index_list("{table}")').fetchall():
        if unique:
            info = database.execute_sql(f'PRAGMA index_info("{name}")').fetchall()
            found.add(tuple(row[2] for row in info))
    return found


# Columns a migration added with ALTER TABLE, which cannot add NOT NULL to a table with rows:
# the model always gives a value, and a trigger fills one in for rows written by raw SQL.
NULLABLE_IN_THE_TABLE = {("learner", "uid"), ("class_group", "uid"), ("assignment", "uid")}


def primary_key(model: type[Model]) -> set[str]:
    key = model._meta.primary_key
    if isinstance(key, CompositeKey):
        return {model._meta.fields[name].column_name for name in key.field_names}
    return {key.column_name}


def mismatches(model: type[Model], database: SqliteDatabase) -> list[str]:
    table = model._meta.table_name
    have = columns(database, table)
    if not have:
        return [f"{model.__name__}: the migrations make no table {table!r}"]
    problems = []
    fields = {field.column_name: field for field in model._meta.sorted_fields}
    for name, field in fields.items():
        where = f"{model.__name__}.{field.name} ({table}.{name})"
        if name not in have:
            problems.append(f"{where}: no such column; a migration must add it")
            continue
        kind, notnull, _, pk = have[name]
        if affinity(kind) != affinity(model_type(field, database)):
            problems.append(f"{where}: the column is {kind}, the model {field.field_type}")
        if not pk and notnull == field.null and (table, name) not in NULLABLE_IN_THE_TABLE:
            null = "NOT NULL" if notnull else "NULL"
            problems.append(f"{where}: the column is {null}, the model says null={field.null}")
    table_key = {name for name, (_, _, _, pk) in have.items() if pk}
    if table_key != primary_key(model):
        problems.append(f"{model.__name__}: primary key {primary_key(model)}, table's {table_key}")
    for name, (_, notnull, default, pk) in have.items():
        if name not in fields and notnull and default is None and not pk:
            problems.append(
                f"{model.__name__}: {table}.{name} is NOT NULL without a default and the model "
                "has no field for it, so the model cannot insert a row"
            )
    unique = unique_column_sets(database, table)
    for field in fields.values():
        if field.unique and (field.column_name,) not in unique:
            problems.append(f"{model.__name__}.{field.name}: unique in the model, not in the table")
    for index_fields, is_unique in getattr(model._meta, "indexes", []):
        wanted = tuple(model._meta.fields[name].column_name for name in index_fields)
        if is_unique and wanted not in unique:
            problems.append(f"{model.__name__}: unique index {wanted} is not in the table")
    return problems


@pytest.fixture
def hub_database(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase(str(tmp_path / "learnhub.db"), pragmas={"foreign_keys": 1})
    database.connect()
    try:
        migrate_hub(database)
        yield database
    finally:
        database.close()


@pytest.fixture
def central_database(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = open_central(None, tmp_path)
    central_db.connect(reuse_if_open=True)
    try:
        migrate_central()
        yield database
    finally:
        central_db.close()


HUB_MODELS = all_models(hub, BaseModel)
CENTRAL_MODELS = all_models(sync.central, CentralModel)


def test_every_model_is_found() -> None:
    hub_tables = {model._meta.table_name for model in HUB_MODELS}
    assert {"pack", "lesson", "learner", "event", "roster_change", "signin_session"} <= hub_tables
    central_tables = {model._meta.table_name for model in CENTRAL_MODELS}
    assert {"hub", "event", "progress", "staff_session"} <= central_tables


@pytest.mark.parametrize("model", HUB_MODELS, ids=lambda model: model.__name__)
def test_hub_model_matches_the_migrated_schema(
    model: type[Model], hub_database: SqliteDatabase
) -> None:
    assert mismatches(model, hub_database) == []


@pytest.mark.parametrize("model", CENTRAL_MODELS, ids=lambda model: model.__name__)
def test_central_model_matches_the_migrated_schema(
    model: type[Model], central_database: SqliteDatabase
) -> None:
    assert mismatches(model, central_database) == []


def test_a_field_added_without_a_migration_is_caught(hub_database: SqliteDatabase) -> None:
    from hub.people.models import Learner

    class LearnerWithNickname(Learner):
        nickname = CharField(default="")
        pin_hash = CharField()  # made required in the model, left nullable in the table

        class Meta:
            table_name = "learner"

    assert mismatches(LearnerWithNickname, hub_database) == [
        "LearnerWithNickname.nickname (learner.nickname): no such column; a migration must add it",
        "LearnerWithNickname.pin_hash (learner.pin_hash): the column is NULL, "
        "the model says null=False",
    ]
