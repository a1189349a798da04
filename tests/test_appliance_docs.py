"""docs/operator-guide.md: its pictures exist and are small, and it explains the messages the
appliance shows an operator."""

from __future__ import annotations

import re

import pytest

from tests.appliance_helpers import ROOT

GUIDE = ROOT / "docs" / "operator-guide.md"
IMAGES = ROOT / "docs" / "images"


def test_every_picture_exists_is_used_and_is_small() -> None:
    used = set()
    for guide in IMAGES.parent.glob("*.md"):
        text = guide.read_text()
        used |= set(re.findall(r"\]\(images/([\w.-]+\.png)\)", text))
        used |= set(re.findall(r'src="images/([\w.-]+\.png)"', text))
    shipped = {path.name for path in IMAGES.glob("*.png")}
    assert used and used == shipped
    for name in shipped:
        data = (IMAGES / name).read_bytes()
        assert data.startswith(b"\x89PNG"), name
        assert len(data) < 150 * 1024, f"{name} is {len(data) // 1024} KB"


@pytest.mark.parametrize(
    "message",
    [
        "Nothing for the hub on this stick; it was left as it was.",
        "is not one the hub can use; format it as FAT32 or exFAT.",
        "The stick could not be opened; it may be damaged.",
        "The stick is locked (read-only)",
        "The stick was removed before the hub had finished; plug it in again.",
        "The stick was still busy; wait a minute before removing it.",
        "could not be written on the stick",
        "No reply from central is on the stick yet (normal on a first trip).",
        "This hub cannot sync by USB yet (update its software)",
        "Refused packs changed nothing; the lines below say why.",
        "file(s) are damaged; import those packs again to repair them.",
        "The hub's clock was behind; it now uses your device's time.",
        "The hub is not allowed to set its clock",
        "appliance.country must be the two-letter code",
        "portal_host must be the hub's address",
    ],
)
def test_the_guide_explains_the_message(message: str) -> None:
    assert message in GUIDE.read_text()


@pytest.mark.parametrize(
    "source", ["raspberrypi/bin/learnhub-usb", "hub/web/views/appliance.py", "hub/core/clock.py"]
)
def test_the_explained_messages_are_the_ones_shown(source: str) -> None:
    """Each message the guide quotes from these files is still said by them."""
    code = (ROOT / source).read_text()
    quoted = {
        "raspberrypi/bin/learnhub-usb": [
            "Nothing for the hub on this stick; it was left as it was.",
            "format it as FAT32 or exFAT.",
            "The stick could not be opened; it may be damaged.",
            "The stick was removed before the hub had finished; plug it in again.",
            "No reply from central is on the stick yet (normal on a first trip).",
        ],
        "hub/web/views/appliance.py": [
            "The hub's clock was behind; it now uses your device's time."
        ],
        "hub/core/clock.py": ["The hub is not allowed to set its clock"],
    }[source]
    for message in quoted:
        assert message in code, message
