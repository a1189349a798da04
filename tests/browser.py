"""Driving Debian's headless Chromium from tests: one launch recipe, screenshots, checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGES = ROOT / "docs" / "images"
PHONE = {"width": 360, "height": 740}
# Chromium tries to reach Google at start; this machine (and a hub) has no internet.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch(playwright: Any) -> Any:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/test to install it"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)


def shot(page: Any, name: str) -> None:
    """Keep a screenshot as a test artifact (test-artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def doc_shot(page: Any, name: str) -> None:
    """A screenshot a guide shows (docs/images/NAME.png), taken again only when
    LEARNHUB_DOC_IMAGES=1 asks for it: otherwise every test run would rewrite the committed
    pictures with a few pixels changed. Without it the picture goes to test-artifacts/."""
    folder = DOC_IMAGES if os.environ.get("LEARNHUB_DOC_IMAGES") == "1" else ARTIFACTS
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def fits_phone(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
