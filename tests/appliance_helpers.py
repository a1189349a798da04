"""Shared by the appliance tests: the raspberrypi/ scripts as modules, and Debian tools that
CI installs (scripts/test) but a developer's machine may lack."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PI = ROOT / "raspberrypi"
BIN = PI / "bin"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """The tool's path; in CI a missing tool is a failure (scripts/test installs it), on a
    developer's machine a skip that says which Debian package to install."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found:
        return found
    message = f"{name} is not installed (scripts/test installs it with apt-get)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"needs root: {why}")


def load_script(name: str) -> ModuleType:
    """A raspberrypi/bin script (no .py suffix) imported as a module."""
    module_name = name.replace("-", "_")
    if module_name in sys.modules:
        return sys.modules[module_name]
    loader = importlib.machinery.SourceFileLoader(module_name, str(BIN / name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    loader.exec_module(module)
    return module
