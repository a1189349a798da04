"""Content packs that arrive in a reply from central: the pack.json and only the files this hub
lacks. Each one is rebuilt as a pack folder (files from the bundle, the rest linked from the
hub's own blob store) and imported through the Library, so validation and all-or-nothing hold
exactly as for a pack from a USB stick."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content.errors import PackError
from content.manifest import version_key
from content.source import path_problem
from hub.library.models import Pack
from hub.library.packs import Library
from sync.bundle import Bundle
from sync.records import RecordError, check_pack


@dataclass(frozen=True)
class PackOutcome:
    pack_id: str
    version: str
    action: str  # "installed", "upgraded", "unchanged" or "refused"
    error: str | None = None


def offered_packs(bundle: Bundle) -> list[dict[str, Any]]:
    return [
        check_pack(record)
        for entry in bundle.parts_of_type("packs")
        for record in bundle.records(entry["name"])
    ]


def install_packs(bundle: Bundle, library: Library) -> list[PackOutcome]:
    """Install every pack the reply offers that is newer than the one installed."""
    return [install_pack(bundle, library, record) for record in offered_packs(bundle)]


def install_pack(bundle: Bundle, library: Library, record: dict[str, Any]) -> PackOutcome:
    pack_id, version = record["pack_id"], record["version"]
    installed = Pack.by_id(pack_id)
    if installed is not None and version_key(installed.version) >= version_key(version):
        return PackOutcome(pack_id, version, "unchanged")
    if record["manifest"].get("id") != pack_id:
        return PackOutcome(
            pack_id,
            version,
            "refused",
            f"Pack {pack_id} in the reply holds "
            "the pack.json of another pack; nothing was changed.",
        )
    folder = library.config.staging_dir / f"sync-{secrets.token_hex(8)}"
    try:
        _rebuild(bundle, library, record, folder)
        result = library.import_pack(folder)
    except (PackError, RecordError) as err:
        return PackOutcome(pack_id, version, "refused", str(err))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return PackOutcome(pack_id, version, result.action)


def _rebuild(bundle: Bundle, library: Library, record: dict[str, Any], folder: Path) -> None:
    """The pack as a folder: pack.json, then each file from the bundle or the blob store."""
    folder.mkdir(parents=True)
    (folder / "pack.json").write_text(json.dumps(record["manifest"]), encoding="utf-8")
    carried = {entry["name"] for entry in bundle.parts_of_type("blob")}
    for path, sha in sorted(record["files"].items()):
        problem = path_problem(path)
        if problem or path == "pack.json":
            raise RecordError(f"Pack {record['pack_id']} file {path!r} {problem or 'is reserved'}.")
        dest = folder / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if sha in carried:
            bundle.save_blob(sha, dest)
        elif library.store.has(sha):
            _link_or_copy(library.store.path(sha), dest)
        else:
            raise PackError(
                f"Pack {record['pack_id']} {record['version']} needs the file {path}, which "
                "neither the reply nor this hub has; nothing was changed."
            )


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
