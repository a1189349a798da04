"""What a hub lets its learners attach to a letter (the letter_* settings, #18): a hub serving
with lower caps tells the learner them in words, takes a photo at its cap and refuses one a
byte over (400), refuses a form over the caps together (413) before reading it; a setting over
the protocol's cap is refused at start in one sentence."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.core.settings import SettingsError, load_config
from sync.letters import MAX_AUDIO_BYTES, MAX_PHOTO_BYTES
from tests.conftest import ROOT, LiveServer
from tests.letters_helpers import Hub, make_hub, pair, post_multipart, signed_in
from tests.test_letters_pages import FORM_ID, TOKEN, found, letters_on, write

pytestmark = pytest.mark.server
PHOTO_CAP = 100 * 1024
RECORDING_CAP = 200 * 1024
CAPS = {
    "LEARNHUB_LETTER_PHOTO_BYTES": str(PHOTO_CAP),
    "LEARNHUB_LETTER_RECORDING_BYTES": str(RECORDING_CAP),
    "LEARNHUB_LETTER_RECORDING_SECONDS": "45",
}


def jpeg(size: int) -> bytes:
    """`size` bytes that the hub takes for a JPEG (its first bytes decide)."""
    start = b"\xff\xd8\xff\xe0\x00\x10JFIF"
    return start + bytes(size - len(start))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("caps") / "data"
    group = make_hub(data, "4A", "Amina")
    pair_uid = pair(data, group, "b" * 32, "5B", "Faraja")
    server = LiveServer(data, CAPS)
    try:
        server.wait_until_ready()
        yield Hub(data, server, pair_uid)
    finally:
        server.stop()


def test_the_page_tells_the_learner_the_caps(hub: Hub) -> None:
    page = signed_in(hub.url, "amina").get(f"/letters/{hub.pair_uid}").text
    assert "Each photo at most 100 KB." in page
    assert "At most 45 seconds and 200 KB." in page
    assert f'data-seconds="45" data-bytes="{RECORDING_CAP}"' in page


def test_a_photo_at_the_cap_goes_one_byte_over_is_refused(hub: Hub) -> None:
    amina = signed_in(hub.url, "amina", "127.0.0.2")
    before = len(letters_on(hub.data))
    over = write(amina, hub, "A big photo", [("photos", "big.jpg", jpeg(PHOTO_CAP + 1))])
    assert over.status == 400
    assert "That file is too large to send: at most 100 KB." in over.text
    assert len(letters_on(hub.data)) == before
    at_cap = write(amina, hub, "A photo at the cap", [("photos", "ok.jpg", jpeg(PHOTO_CAP))])
    assert at_cap.status == 303, at_cap.text[:500]
    [*_, letter] = letters_on(hub.data)
    assert [item["size"] for item in letter.files()] == [PHOTO_CAP]


def test_a_form_over_the_caps_together_is_refused_before_it_is_read(hub: Hub) -> None:
    amina = signed_in(hub.url, "amina", "127.0.0.3")
    page = amina.get(f"/letters/{hub.pair_uid}").text
    fields = {"text": "Too much", "form_id": found(FORM_ID, page)}
    fields["csrf_token"] = found(TOKEN, page)
    photos = [("photos", f"p{n}.jpg", jpeg(PHOTO_CAP)) for n in range(4)]
    recording = [("recording", "r.ogg", b"OggS" + bytes(RECORDING_CAP + 300 * 1024))]
    refused = post_multipart(amina, f"/letters/{hub.pair_uid}/write", fields, photos + recording)
    assert refused.status == 413
    assert "too large to send together" in refused.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("letter_photo_bytes", MAX_PHOTO_BYTES + 1),
        ("letter_recording_bytes", MAX_AUDIO_BYTES + 1),
        ("letter_recording_seconds", 601),
        ("letter_photo_bytes", 0),
    ],
)
def test_a_cap_out_of_range_is_refused(tmp_path: Path, name: str, value: int) -> None:
    (tmp_path / "learnhub.toml").write_text(f"{name} = {value}\n")
    with pytest.raises(SettingsError, match=f"Setting {name} must be from") as caught:
        load_config(tmp_path, environ={})
    assert "\n" not in str(caught.value)
    assert load_config(tmp_path, {name: 1}, environ={})  # a flag or test dict beats the file


def test_serve_refuses_a_photo_cap_over_the_protocols_in_one_line(tmp_path: Path) -> None:
    env = {"LEARNHUB_LETTER_PHOTO_BYTES": str(MAX_PHOTO_BYTES + 1), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "serve", "--data", str(tmp_path / "data"), "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: Setting letter_photo_bytes must be from 1 to {MAX_PHOTO_BYTES}, "
        f"got {MAX_PHOTO_BYTES + 1}."
    )
    assert not (tmp_path / "data").exists()  # refused before anything was made
