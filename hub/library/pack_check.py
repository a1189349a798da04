"""What importing would do, changing nothing (`learnhub content import --check`): for each
pack under the paths, install, upgrade, unchanged or refused, with every problem and what was
made from a plain folder. Zipped apps are opened only by a real import."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from content.errors import PackError, PackProblems
from content.folder_pack import NO_FIELDS, PackFields, is_plain_folder
from content.importer import check_pack
from content.kolibri import find_channels
from content.manifest import Manifest, version_key
from content.source import find_packs
from content.zim import ZimError, find_zims, is_zim_path
from hub.core.db import connected
from hub.library.models import Pack
from hub.library.packs import Library


@dataclass(frozen=True)
class Checked:
    """One pack (or ZIM file) found under a path, and what importing it would do."""

    path: Path
    action: str  # "install", "upgrade", "unchanged", "refused", or "zim" (checked on import)
    pack_id: str = ""
    version: str = ""
    previous: str = ""  # the installed version
    lessons: int = 0
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def check_paths(
    library: Library, paths: list[Path], fields: PackFields = NO_FIELDS
) -> list[Checked]:
    checked: list[Checked] = []
    for given in paths:
        try:
            zims = find_zims(given) if is_zim_path(given) or given.is_dir() else []
            found = [] if is_zim_path(given) and not given.is_dir() else find_packs(given)
            channels = find_channels(given)
        except (PackError, ZimError) as err:
            checked.append(Checked(given, "refused", problems=(str(err),)))
            continue
        if not zims and not channels and is_plain_folder(given, found, library.limits):
            found = [given]
        checked += [check_one(library, path, fields) for path in [*found, *channels]]
        checked += [Checked(zim.parts[0], "zim") for zim in zims]
    return checked


def check_one(library: Library, path: Path, fields: PackFields = NO_FIELDS) -> Checked:
    try:
        with connected(), library.open(path, fields) as opened:
            manifest = check_pack(opened.source).manifest
            notes = tuple(opened.notes)
            return _verdict(path, manifest, notes)
    except PackProblems as err:
        return Checked(path, "refused", problems=tuple(err.problems))
    except PackError as err:
        return Checked(path, "refused", problems=(str(err),))


def _verdict(path: Path, manifest: Manifest, notes: tuple[str, ...]) -> Checked:
    found = Checked(
        path, "install", manifest.id, manifest.version, "", len(manifest.lessons), notes
    )
    installed = Pack.by_id(manifest.id)
    if installed is None:
        return found
    new, old = version_key(manifest.version), version_key(installed.version)
    if new > old:
        return replace(found, action="upgrade", previous=installed.version)
    if new == old:
        return replace(found, action="unchanged", previous=installed.version)
    problem = (
        f"Pack {manifest.id} {manifest.version} is older than the installed version "
        f"{installed.version}."
    )
    return Checked(
        path, "refused", manifest.id, manifest.version, installed.version, problems=(problem,)
    )
