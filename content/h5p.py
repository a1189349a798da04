"""H5P packages (.h5p): what the hub checks before it takes one, and the text of its content.

A package is a zip holding `h5p.json`, `content/content.json` with the activity's files beside
it, and one folder per H5P library (`H5P.MultiChoice-1.14/library.json`, its scripts and
styles). The hub never reaches the internet, so every library the activity needs must be in the
package. The file types allowed are H5P's own defaults (H5PCore::$defaultContentWhitelist, and
for libraries $defaultLibraryWhitelistExtras), less Flash.

    package = check_h5p(source)      # PackError: one sentence naming the file and the fault
    h5p_text(data)                   # the words of content.json, for search
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from content.errors import PackError
from content.json_errors import explain
from content.source import DEFAULT_LIMITS, Limits, PackSource, open_source, quote, size_text
from content.text import MAX_CHARS, html_text

MAIN = "h5p.json"
CONTENT = "content/content.json"
LIBRARY = "library.json"
MAX_JSON_BYTES = 1024**2  # h5p.json or one library.json: a few KB in real packages
MAX_CONTENT_BYTES = 16 * 1024**2
MAX_SVG_BYTES = 4 * 1024**2
MAX_DEPTH = 64
MAX_LIBRARIES = 300  # a big interactive video brings about 50
MAX_FILES = 10_000
CONTENT_TYPES = frozenset({
    "json", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "svg", "eot", "ttf", "woff",
    "woff2", "otf", "webm", "mp4", "ogg", "mp3", "m4a", "wav", "txt", "pdf", "rtf", "doc", "docx",
    "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "xml", "csv", "diff", "patch", "md",
    "textile", "vtt", "webvtt",
})  # fmt: skip
LIBRARY_TYPES = CONTENT_TYPES | {"js", "css"}
_MACHINE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")  # H5P's own pattern for machine names
_FOLDER = re.compile(r"(?P<name>[A-Za-z0-9_.-]{1,255}?)(-(?P<major>[0-9]+)\.(?P<minor>[0-9]+))?")
# Script in an SVG: an element, an event handler attribute, a javascript: link. The sandbox the
# hub serves every file in already keeps such script from the hub; refusing it is the second lock.
_SVG_SCRIPT = re.compile(rb"<script|<foreignobject|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
# Parts of content.json that hold settings and button labels, not what a learner reads.
_NOT_TEXT_KEYS = frozenset({"l10n", "UI", "a11y", "behaviour", "library", "subContentId",
                            "path", "mime", "copyright", "metadata", "override"})  # fmt: skip


@dataclass(frozen=True)
class H5PPackage:
    title: str
    language: str  # "und" when the package does not say
    main_library: str  # machine name, such as "H5P.MultiChoice"
    libraries: tuple[str, ...]  # folder names in the package


Version = tuple[str, int, int]  # machine name, major, minor


def read_h5p(path: Path, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> H5PPackage:
    """check_h5p of the .h5p file at `path`."""
    with open_source(path, limits, name) as source:
        return check_h5p(source)


def check_h5p(source: PackSource) -> H5PPackage:
    """The package's description, once every rule holds; else PackError, one sentence."""
    paths = source.paths()
    if len(paths) > MAX_FILES:
        raise PackError(f"{source.name} has more than {MAX_FILES} files.")
    main = _json(source, MAIN, MAX_JSON_BYTES)
    title, main_library, wanted = _main_fields(source.name, main)
    _content(source)
    folders = sorted({path.split("/")[0] for path in paths if "/" in path} - {"content"})
    if len(folders) > MAX_LIBRARIES:
        raise PackError(f"{source.name} holds more than {MAX_LIBRARIES} libraries.")
    present: dict[tuple[str, int, int], str] = {}
    for folder in folders:
        version, needs = _library(source, folder)
        present[version] = folder
        wanted += [(need, folder) for need in needs]
    _check_types(source, paths)
    for need, by in wanted:
        if need not in present:
            who = quote(MAIN) if by == MAIN else f"the library {quote(by)}"
            raise PackError(f"{source.name} lacks the H5P library {_label(need)} that {who} needs.")
    if not any(version[0] == main_library for version in present):
        raise PackError(f"{source.name} lacks its main library {quote(main_library)}.")
    language = main.get("language")
    return H5PPackage(
        title=title,
        language=language if isinstance(language, str) and language else "und",
        main_library=main_library,
        libraries=tuple(folders),
    )


def _json(source: PackSource, path: str, limit: int) -> dict[str, Any]:
    where = f"{source.name}: {quote(path)}"
    if not source.has(path):
        raise PackError(f"{source.name} is not an H5P package: it has no {quote(path)}.")
    if source.size(path) > limit:
        raise PackError(f"{where} is larger than {size_text(limit)}.")
    try:
        value = json.loads(source.read(path).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PackError(f"{where} is not UTF-8 text.") from None
    except json.JSONDecodeError as err:
        raise PackError(f"{where} is not valid JSON: {explain(err)}.") from None
    except RecursionError:
        raise PackError(f"{where} is nested too deeply.") from None
    if not isinstance(value, dict):
        raise PackError(f"{where} is not a JSON object.")
    if _too_deep(value):
        raise PackError(f"{where} is nested more than {MAX_DEPTH} levels deep.")
    return value


def _too_deep(value: Any) -> bool:
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if level > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, level + 1) for child in item)
    return False


def _main_fields(name: str, main: dict[str, Any]) -> tuple[str, str, list[tuple[Version, str]]]:
    where = f"{name}: {quote(MAIN)}"
    title = main.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PackError(f"{where} has no title.")
    library = main.get("mainLibrary")
    if not isinstance(library, str) or not _MACHINE_NAME.fullmatch(library):
        raise PackError(f"{where} names no main library (mainLibrary).")
    needs = _dependencies(where, main, ("preloadedDependencies",))
    if not needs:
        raise PackError(f"{where} lists no libraries (preloadedDependencies).")
    return title.strip(), library, [(need, MAIN) for need in needs]


def _dependencies(where: str, raw: dict[str, Any], fields: tuple[str, ...]) -> list[Version]:
    found = []
    for field in fields:
        listed = raw.get(field, [])
        if not isinstance(listed, list):
            raise PackError(f"{where}: {field} is not a list.")
        for entry in listed:
            version = _version(entry)
            if version is None:
                raise PackError(
                    f"{where}: {field} holds an entry without machineName, majorVersion "
                    "and minorVersion."
                )
            found.append(version)
    return found


def _version(entry: Any) -> Version | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("machineName"), str):
        return None
    numbers = [_number(entry.get(key)) for key in ("majorVersion", "minorVersion")]
    if not _MACHINE_NAME.fullmatch(entry["machineName"]) or None in numbers:
        return None
    return entry["machineName"], numbers[0] or 0, numbers[1] or 0


def _number(value: Any) -> int | None:
    """H5P writes versions as numbers or as strings of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 100_000:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
        return int(value)
    return None


def _content(source: PackSource) -> None:
    if not source.has(CONTENT):
        raise PackError(f"{source.name} is not an H5P package: it has no {quote(CONTENT)}.")
    _json(source, CONTENT, MAX_CONTENT_BYTES)


def _library(source: PackSource, folder: str) -> tuple[Version, list[Version]]:
    """The library in `folder` (name, major, minor) and the libraries it needs."""
    path = f"{folder}/{LIBRARY}"
    if not source.has(path):
        raise PackError(f"{source.name}: the library folder {quote(folder)} has no {LIBRARY}.")
    raw = _json(source, path, MAX_JSON_BYTES)
    where = f"{source.name}: {quote(path)}"
    version = _version(raw)
    title = raw.get("title")
    if version is None or _number(raw.get("patchVersion")) is None or not isinstance(title, str):
        raise PackError(
            f"{where} lacks title, machineName, majorVersion, minorVersion or patchVersion."
        )
    named = _FOLDER.fullmatch(folder)
    if (
        named is None
        or named["name"] != version[0]
        or (
            named["major"] is not None and (int(named["major"]), int(named["minor"])) != version[1:]
        )
    ):
        raise PackError(f"{where} describes {_label(version)}, not the library its folder names.")
    for field in ("preloadedJs", "preloadedCss"):
        for file in _files(where, raw, field):
            if not source.has(f"{folder}/{file}"):
                raise PackError(f"{where} lists {quote(file)} in {field}, which is not there.")
    return version, _dependencies(where, raw, ("preloadedDependencies", "dynamicDependencies"))


def _files(where: str, raw: dict[str, Any], field: str) -> Iterator[str]:
    listed = raw.get(field, [])
    if not isinstance(listed, list):
        raise PackError(f"{where}: {field} is not a list.")
    for entry in listed:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not path:
            raise PackError(f"{where}: {field} holds an entry without a path.")
        yield path


def _check_types(source: PackSource, paths: list[str]) -> None:
    for path in paths:
        pure = PurePosixPath(path)
        if pure.name.startswith("."):
            continue  # H5P skips hidden files (.DS_Store) too, and the hub never serves them
        suffix = pure.suffix[1:].lower()
        top = path.split("/")[0]
        allowed = CONTENT_TYPES if top == "content" else LIBRARY_TYPES
        if ("/" not in path and path != MAIN) or ("/" in path and suffix not in allowed):
            raise PackError(
                f"{source.name} holds {quote(path)}, a type of file H5P does not allow there."
            )
        if suffix == "svg":
            _check_svg(source, path)


def _check_svg(source: PackSource, path: str) -> None:
    where = f"{source.name}: {quote(path)}"
    if source.size(path) > MAX_SVG_BYTES:
        raise PackError(f"{where} is an SVG image larger than {size_text(MAX_SVG_BYTES)}.")
    if _SVG_SCRIPT.search(source.read(path)):
        raise PackError(f"{where} is an SVG image with script in it.")


def _label(version: Version) -> str:
    return quote(f"{version[0]} {version[1]}.{version[2]}")


def is_servable(path: str) -> bool:
    """Whether a file of a checked package may be served: never a hidden file, and only the
    types the check allowed where it allowed them."""
    pure = PurePosixPath(path)
    if any(part.startswith(".") for part in pure.parts) or len(pure.parts) < 2:
        return path == MAIN
    allowed = CONTENT_TYPES if pure.parts[0] == "content" else LIBRARY_TYPES
    return pure.suffix[1:].lower() in allowed


def h5p_text(path: Path, limit: int = MAX_CHARS) -> str:
    """The words a learner reads in the activity (questions, answers, feedback), from the
    content.json of the .h5p at `path`; "" when it cannot be read. Never raises."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(CONTENT)
            if info.file_size > MAX_CONTENT_BYTES:
                return ""
            with archive.open(info) as stream:
                content = json.loads(stream.read(MAX_CONTENT_BYTES).decode("utf-8-sig"))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError, EOFError):
        return ""
    pieces: list[str] = []
    size = 0
    for text in _strings(content):
        pieces.append(text)
        size += len(text)
        if size >= 4 * limit:  # markup is shed below; enough raw text for `limit` words
            break
    markup = "<p>" + "</p><p>".join(pieces) + "</p>"
    return html_text(markup.encode("utf-8"), limit)


def _strings(value: Any) -> Iterator[str]:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if item.strip():
                yield item
        elif isinstance(item, dict):
            keep = [child for key, child in item.items() if key not in _NOT_TEXT_KEYS]
            pending.extend(reversed(keep))
        elif isinstance(item, list):
            pending.extend(reversed(item))
