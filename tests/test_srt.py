"""SubRip subtitles converted to WebVTT (content/srt.py), and read back by content/vtt.py."""

from __future__ import annotations

import pytest

from content.errors import PackError
from content.srt import MAX_SRT_BYTES, srt_to_vtt
from content.vtt import parse_vtt


def test_cues_convert_with_their_times_and_lines() -> None:
    srt = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\nthere\r\n\r\n"
        "2\r\n00:01:02,5 --> 01:00:00,000 X1:0\r\nBye --> now\r\n\r\n"
        "3\r\n00:00:09,000 --> 00:00:10,000\r\n\r\n"
    ).encode()
    vtt = srt_to_vtt(srt, "a.srt")
    assert vtt.startswith(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello\nthere\n\n")
    assert b"00:01:02.500 --> 01:00:00.000\nBye -> now\n" in vtt
    cues = parse_vtt(vtt)
    assert [(cue.start, cue.end, cue.text) for cue in cues] == [
        (1.0, 2.5, "Hello there"),
        (62.5, 3600.0, "Bye -> now"),
    ]


def test_a_legacy_encoding_is_read() -> None:
    vtt = srt_to_vtt("1\n00:00:01,000 --> 00:00:02,000\nCaf\xe9\n".encode("cp1252"), "a.srt")
    assert "Café".encode() in vtt


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some words\n", "a.srt holds no subtitles (no line such as 00:00:01,000 --> ...)."),
        (b"", "a.srt holds no subtitles (no line such as 00:00:01,000 --> ...)."),
        (b"x" * (MAX_SRT_BYTES + 1), "a.srt is larger than 4 MB of subtitles."),
    ],
)
def test_junk_is_refused_in_one_sentence(data: bytes, message: str) -> None:
    with pytest.raises(PackError) as caught:
        srt_to_vtt(data, "a.srt")
    assert str(caught.value) == message
