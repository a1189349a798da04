"""A Kolibri channel as a pack: pack.json made from the channel database, exercises made from
its .perseus files, both written into a staging folder, and the content files read where they
are on the stick. The result goes through the same checked import as any pack.

The pack id is `kolibri-<channel id>`; its version is `<channel version>.<lessons>`, so a newer
channel version, or the same version with more of its files on the stick, upgrades it, and
the same export imported again is "unchanged".
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from content import durable
from content.errors import PackError
from content.folder_pack import OpenedPack
from content.importer import MAX_MANIFEST_BYTES
from content.kolibri.database import MAX_NODES, ChannelData, Node, NodeFile, read_channel
from content.kolibri.lessons import Lesson, Missing, Skipped, language_tag, make_lesson
from content.kolibri.storage import Storage, export_root
from content.kolibri.tree import MAX_TOPIC_DEPTH, Tree, build_tree
from content.manifest import FORMAT
from content.source import MANIFEST_NAME, FolderSource, Limits, PackSource, quote, size_text

PACK_PREFIX = "kolibri-"
MAX_NAMED = 10  # skipped or missing resources named in the notes; the rest are counted
MAX_ATTRIBUTION = 2000


@dataclass
class _Topic:
    entry: dict[str, Any]
    lessons: list[str] = field(default_factory=list)
    topics: list[_Topic] = field(default_factory=list)

    def raw(self) -> dict[str, Any] | None:
        """The topic in pack.json; None when nothing under it became a lesson."""
        topics = [raw for raw in (topic.raw() for topic in self.topics) if raw]
        if not topics and not self.lessons:
            return None
        made = dict(self.entry)
        if self.lessons:
            made["lessons"] = self.lessons
        if topics:
            made["topics"] = topics
        return made


@dataclass
class _Made:
    lessons: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    made: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    resources: int = 0


def pack_id(channel_id: str) -> str:
    return f"{PACK_PREFIX}{channel_id}"


@contextmanager
def open_channel(database: Path, staging_root: Path, limits: Limits) -> Iterator[OpenedPack]:
    """The pack a channel database makes, ready to stage; PackError of one sentence if the
    database is not a Kolibri channel this hub reads (then nothing was written)."""
    root = export_root(database)
    name = str(database)
    if root is None:
        raise PackError(f"{name} is not a channel database of a Kolibri export.")
    data = read_channel(database, name)
    if data.channel.id != Path(database).name.split(".")[0]:
        raise PackError(f"{name} holds channel {data.channel.id}, not the one it is named for.")
    storage = Storage(root / "content" / "storage", limits)
    try:
        raw, made, notes = _make(data, storage, name, limits)
        with _staged(staging_root, raw, made.made) as folder:
            yield OpenedPack(ChannelSource(name, folder, storage, made.files), notes)
    finally:
        storage.close()


def _make(
    data: ChannelData, storage: Storage, name: str, limits: Limits
) -> tuple[dict[str, Any], _Made, list[str]]:
    tree = build_tree(data, name)
    languages = _languages(data)
    made = _Made()
    topics = _walk(tree, data, storage, languages, made)
    if not made.lessons:
        raise PackError(
            f"{name}: channel {quote(data.channel.name)} has no resource this hub can show "
            f"on the stick ({made.resources} resources: {len(made.skipped)} skipped, "
            f"{len(made.missing)} missing)."
        )
    total = sum(size for _, _, size in made.files.values())
    if total > limits.max_total_bytes:
        raise PackError(
            f"{name}: channel {quote(data.channel.name)} holds {size_text(total)} of files; "
            f"the limit is {size_text(limits.max_total_bytes)}."
        )
    raw = _manifest(data, tree, languages, topics, made)
    return raw, made, _notes(data, made)


def _languages(data: ChannelData) -> dict[str, str]:
    tags = {}
    for lid, (code, subcode) in data.languages.items():
        tag = language_tag(code, subcode)
        if tag:
            tags[lid] = tag
    return tags


def _walk(
    tree: Tree, data: ChannelData, storage: Storage, languages: dict[str, str], made: _Made
) -> list[_Topic]:
    files: dict[str, list[NodeFile]] = {}
    for file in data.files:
        files.setdefault(file.node_id, []).append(file)
    top = _Topic({})
    holders: dict[str, _Topic] = {tree.root.id: top}
    for node, depth in tree.walk(tree.root):
        parent = holders.get(node.parent_id or "", top)
        if node.kind == "topic":
            holders[node.id] = parent if depth > MAX_TOPIC_DEPTH else _topic(node, parent)
            continue
        made.resources += 1
        try:
            lesson = make_lesson(
                node,
                files.get(node.id, []),
                storage,
                languages,
                data.assessments.get(node.id),
                data.tags.get(node.id, []),
            )
        except Skipped as why:
            made.skipped.append(f"{quote(node.title)} ({node.id}): {why}")
            continue
        except Missing as why:
            made.missing.append(f"{quote(node.title)} ({node.id}): {why}")
            continue
        _add(made, lesson, node, languages)
        parent.lessons.append(node.id)
    return top.topics


def _topic(node: Node, parent: _Topic) -> _Topic:
    entry: dict[str, Any] = {"id": node.id, "title": node.title.strip() or node.id}
    if node.description.strip():
        entry["description"] = node.description.strip()
    topic = _Topic(entry)
    parent.topics.append(topic)
    return topic


def _add(made: _Made, lesson: Lesson, node: Node, languages: dict[str, str]) -> None:
    if node.language in languages:
        lesson.entry["x-language"] = languages[node.language]
    made.lessons.append(lesson.entry)
    made.files.update(lesson.files)
    made.made.update(lesson.made)


def _manifest(
    data: ChannelData,
    tree: Tree,
    languages: dict[str, str],
    topics: list[_Topic],
    made: _Made,
) -> dict[str, Any]:
    channel = data.channel
    raw: dict[str, Any] = {
        "format": FORMAT,
        "id": pack_id(channel.id),
        "version": f"{channel.version}.{len(made.lessons)}",
        "title": channel.name.strip() or f"Kolibri channel {channel.id}",
        "language": _pack_language(data, tree, languages),
    }
    if channel.description.strip():
        raw["description"] = channel.description.strip()
    licences = Counter(lesson["license"] for lesson in made.lessons if "license" in lesson)
    if licences:
        raw["license"] = licences.most_common(1)[0][0]
    attribution = _attribution(channel.author, made.lessons)
    if attribution:
        raw["attribution"] = attribution
    raw["topics"] = [topic for topic in (t.raw() for t in topics) if topic]
    raw["lessons"] = made.lessons
    raw["x-kolibri"] = {
        "channel_id": channel.id,
        "channel_version": channel.version,
        "content_schema": channel.schema,
        "resources": made.resources,
        "skipped": len(made.skipped),
        "missing": len(made.missing),
    }
    if channel.thumbnail.startswith("data:image/"):
        raw["x-kolibri"]["thumbnail"] = channel.thumbnail
    return raw


def _pack_language(data: ChannelData, tree: Tree, languages: dict[str, str]) -> str:
    if tree.root.language in languages:
        return languages[tree.root.language]
    used = Counter(languages[n.language] for n in data.nodes if n.language in languages)
    return used.most_common(1)[0][0] if used else "und"


def _attribution(author: str, lessons: list[dict[str, Any]]) -> str:
    names = [author.strip()] if author.strip() else []
    for lesson in lessons:
        for key in ("author", "attribution"):
            if key in lesson and lesson[key] not in names:
                names.append(lesson[key])
    text = ", ".join(names)
    return text if len(text) <= MAX_ATTRIBUTION else text[: MAX_ATTRIBUTION - 3] + "..."


def _notes(data: ChannelData, made: _Made) -> list[str]:
    channel = data.channel
    notes = [
        f"Kolibri channel {quote(channel.name)} version {channel.version} (content schema "
        f"{channel.schema}): {len(made.lessons)} of {made.resources} resources became "
        f"lessons; {len(made.skipped)} skipped, {len(made.missing)} missing from the stick."
    ]
    notes += _named("skipped", made.skipped)
    notes += _named("missing", made.missing)
    return notes


def _named(word: str, lines: list[str]) -> list[str]:
    named = [f"{word}: {line}" for line in lines[:MAX_NAMED]]
    if len(lines) > MAX_NAMED:
        named.append(f"{word}: {len(lines) - MAX_NAMED} more resources.")
    return named


@contextmanager
def _staged(staging_root: Path, raw: dict[str, Any], made: dict[str, bytes]) -> Iterator[Path]:
    """pack.json and the made exercises in a fresh staging folder, removed afterwards."""
    manifest = json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise PackError(
            f"channel {quote(raw['title'])} has too many lessons for one pack: its pack.json "
            f"would be {size_text(len(manifest))} (the limit is {size_text(MAX_MANIFEST_BYTES)})."
        )
    Path(staging_root).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="kolibri-", dir=staging_root))
    try:
        (folder / "exercises").mkdir()
        for path, data in made.items():
            (folder / path).write_bytes(data)
        durable.write_bytes(folder / MANIFEST_NAME, manifest)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class ChannelSource(PackSource):
    """The pack a channel makes: the files made in staging, and content files from the stick."""

    def __init__(
        self, name: str, folder: Path, storage: Storage, files: dict[str, tuple[str, str, int]]
    ) -> None:
        super().__init__(name)
        limits = replace(storage.limits, max_files=MAX_NODES + 1)  # pack.json, exercises
        self._made = FolderSource(folder, limits, name)
        self._storage = storage
        self._files = files
        self._sizes = {path: size for path, (_, _, size) in files.items()}
        self._sizes.update({path: self._made.size(path) for path in self._made.paths()})

    def open(self, path: str) -> BinaryIO:
        key = self._key(path)
        if key in self._files:
            md5, extension, _ = self._files[key]
            return self._storage.open(md5, extension)
        return self._made.open(key)

    def close(self) -> None:
        self._made.close()
