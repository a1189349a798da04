"""Installs cannot drift: every install takes the exact versions in requirements/, with hashes,
and those versions are inside the ranges pyproject.toml promises to people who install the
package into their own environment."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("hub", "test", "build")
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(name: str) -> dict[str, str]:
    """{distribution: version} for the pins of requirements/NAME.txt that apply here."""
    pins = {}
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        match = PIN.match(line)
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            pins[canonical(match[1])] = match[2]
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("name", LOCKS)
def test_every_pin_is_exact_and_hashed(name: str) -> None:
    text = (ROOT / "requirements" / f"{name}.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2].strip())
    assert entries
    for entry in entries:
        assert PIN.match(entry.splitlines()[0]), entry.splitlines()[0]
        assert "--hash=sha256:" in entry, f"{entry.splitlines()[0]} has no hash"


def test_the_hub_lock_is_the_test_lock_less_the_test_tools() -> None:
    hub, test = locked("hub"), locked("test")
    assert {name: test.get(name) for name in hub} == hub


def test_this_venv_holds_exactly_the_locked_versions() -> None:
    """scripts/test installs from requirements/test.txt: a stray upgrade shows up here."""
    for name, version in locked("test").items():
        assert metadata.version(name) == version, name


def test_the_locked_versions_are_inside_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    pins = locked("test")
    for line in wanted:
        requirement = Requirement(line)
        version = pins[canonical(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (line, version)


@pytest.mark.parametrize(
    "script", ["scripts/lib/setup.sh", "raspberrypi/install.sh", "scripts/benchlib/product.py"]
)
def test_every_installer_installs_from_the_lock(script: str) -> None:
    text = (ROOT / script).read_text()
    assert "--require-hashes" in text
    assert "--no-build-isolation" in text
