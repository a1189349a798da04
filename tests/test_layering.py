"""The layering of docs/architecture.md, as a test: every import in hub/, content/, sync/ and
scripts/ is read (without running anything) and checked against the allowed directions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = ("hub", "content", "sync", "scripts")
# The hub's packages that hold what it does; they may use core and each other, never the faces.
DOMAIN = ("library", "people", "learning", "search", "hubsync", "neighbours")
FACES = ("hub.web", "hub.cli", "hub.central")
WEB_FRAMEWORKS = ("flask", "flask_babel", "werkzeug", "jinja2", "waitress")


@dataclass(frozen=True)
class Import:
    source: Path  # the importing file, relative to the repository
    module: str  # the importing module's dotted name
    target: str  # the imported module's dotted name (a name imported from it counts too)
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files() -> Iterator[Path]:
    for top in CODE:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "vendor" not in path.parts:
                yield path
    yield from sorted(p for p in (ROOT / "scripts").iterdir() if _is_python_script(p))


def _is_python_script(path: Path) -> bool:
    if path.suffix or not path.is_file():
        return False
    with path.open("rb") as f:
        first = f.readline()
    return first.startswith(b"#!") and b"python" in first


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path) if path.suffix else f"scripts.{path.name}"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_bytes(), filename=str(path))
    relative = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(relative, module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            yield Import(relative, module, base, node.lineno)
            for alias in node.names:  # `from hub.web import errors` imports hub.web.errors
                yield Import(relative, module, f"{base}.{alias.name}", node.lineno)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


ALL = [imported for path in python_files() for imported in imports_of(path)]


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offenders(rule: str) -> list[str]:
    return sorted({str(i) for i in ALL if BROKEN[rule](i)})


def _hub_package(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "hub" else None


def _private_part(name: str) -> int | None:
    """Index of the first `_name` part (a private module or name), if any."""
    for index, part in enumerate(name.split(".")):
        if part.startswith("_") and not part.startswith("__"):
            return index
    return None


def _imports_private_from_outside(i: Import) -> bool:
    index = _private_part(i.target)
    if index is None or not i.target.startswith(("hub.", "content.", "sync.")):
        return False
    owner = ".".join(i.target.split(".")[:index])  # the package the private part belongs to
    return not within(i.module, owner)


BROKEN = {
    "libraries never import the hub or a web framework": lambda i: (
        (within(i.module, "content") or within(i.module, "sync"))
        and (within(i.target, "hub") or i.target.split(".")[0] in WEB_FRAMEWORKS)
    ),
    "content never imports sync": lambda i: (
        within(i.module, "content") and within(i.target, "sync")
    ),
    "hub.core imports no other hub package": lambda i: (
        within(i.module, "hub.core") and _hub_package(i.target) not in (None, "core")
    ),
    "domain packages never import the web, the CLI or central": lambda i: (
        any(within(i.module, f"hub.{p}") for p in DOMAIN)
        and any(within(i.target, face) for face in FACES)
    ),
    "the web face never imports the CLI": lambda i: (
        within(i.module, "hub.web") and within(i.target, "hub.cli")
    ),
    "private modules are imported only inside their package": _imports_private_from_outside,
}


@pytest.mark.parametrize("rule", BROKEN)
def test_imports_run_one_way(rule: str) -> None:
    assert offenders(rule) == []


def test_the_reader_sees_the_whole_tree() -> None:
    """A rule that reads nothing passes: make sure it reads what it should."""
    sources = {str(i.source).split("/")[0] for i in ALL}
    assert {"hub", "content", "sync", "scripts"} <= sources
    assert any(within(i.module, "hub.core") for i in ALL)
    assert any(i.target == "hub.core.errors.HubError" for i in ALL)


@pytest.mark.parametrize(
    ("module", "target", "rule"),
    [
        ("sync.bundle", "hub.core.db", "libraries never import the hub or a web framework"),
        ("content.importer", "flask", "libraries never import the hub or a web framework"),
        ("content.importer", "sync.records", "content never imports sync"),
        ("hub.core.settings", "hub.library.models", "hub.core imports no other hub package"),
        (
            "hub.library.packs",
            "hub.web.errors",
            "domain packages never import the web, the CLI or central",
        ),
        ("hub.web.app", "hub.cli.common", "the web face never imports the CLI"),
        (
            "hub.hubsync.service",
            "sync.bundle._write",
            "private modules are imported only inside their package",
        ),
    ],
)
def test_each_rule_catches_a_wrong_import(module: str, target: str, rule: str) -> None:
    wrong = Import(Path("x.py"), module, target, 1)
    assert BROKEN[rule](wrong)


def test_an_import_inside_a_package_of_its_private_module_is_allowed() -> None:
    inside = Import(Path("x.py"), "sync.bundle._read", "sync.bundle._format", 1)
    assert not _imports_private_from_outside(inside)
