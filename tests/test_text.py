"""Plain text of lesson files for search: HTML, exercises, subtitles and PDFs (ours, tiny,
and Chromium's), and junk that must never raise or run away."""

from __future__ import annotations

import functools
import json
import logging
import re
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from content import pdftext
from content.pdftext import MAX_STREAM_BYTES, extract_text
from content.text import exercise_text, html_text, lesson_text, subtitle_text
from tests.content_helpers import EXERCISE

CHROMIUM = "/usr/bin/chromium"
WORKSHEET = Path(__file__).parent.parent / "content/samples/fractions-en/worksheet"


# --- A small PDF writer, so each test states exactly what its PDF holds --------------------


def pdf_stream(data: bytes, extra: str = "", compress: bool = True) -> bytes:
    raw = zlib.compress(data) if compress else data
    flate = "/Filter /FlateDecode " if compress else ""
    header = f"<< /Length {len(raw)} {flate}{extra}>>\nstream\n".encode()
    return header + raw + b"\nendstream"


def make_pdf(objects: dict[int, bytes], root: int = 1, trailer: str = "") -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets.get(number, 0):010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root {root} 0 R {trailer}>>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_pdf_xref_stream(objects: dict[int, bytes], packed: dict[int, tuple[int, int]]) -> bytes:
    """Like make_pdf, with a cross-reference stream: the only way to point at the objects
    kept in an object stream (`packed`: number -> (object stream, index in it))."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    size = max(*objects, *packed) + 2
    rows = struct.pack(">BIH", 0, 0, 65535)
    for number in range(1, size):
        if number in packed:
            rows += struct.pack(">BIH", 2, *packed[number])
        else:
            rows += struct.pack(">BIH", 1 if number in offsets else 0, offsets.get(number, 0), 0)
    xref = len(out)
    out += f"{size - 1} 0 obj\n".encode()
    out += pdf_stream(rows, f"/Type /XRef /Size {size} /W [1 4 2] /Root 1 0 R ", compress=False)
    out += f"\nendobj\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# What writers put in a font for Latin text: without /Encoding, \351 is StandardEncoding's Ø.
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def simple_pdf(*contents: bytes, font: bytes = HELVETICA) -> bytes:
    """One page per content stream, all with font /F1."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: font}
    kids = []
    for at, content in enumerate(contents):
        page, stream = 10 + 2 * at, 11 + 2 * at
        kids.append(f"{page} 0 R")
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /Contents {stream} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        ).encode()
        objects[stream] = pdf_stream(content)
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    return make_pdf(objects)


def to_unicode_font(cmap: bytes) -> dict[int, bytes]:
    """A Type0 (CID) font as Chromium writes it, with its ToUnicode CMap (objects 3-5)."""
    return {
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Noto /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Noto /W [0 255 500] >>",
        5: pdf_stream(cmap),
    }


CMAP = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
3 beginbfchar
<0003> <0020>
<0010> <00E9>
<0011> <D834DD1E>
endbfchar
3 beginbfrange
<0044> <005D> <0061>
<0024> <003D> <0041>
<0060> <0061> [<0066006C> <00660069>]
endbfrange
endcmap
end end"""


def cid(text: str) -> str:
    """Glyph codes for `text` under CMAP (letters, space, é), as a hex string operand."""
    codes = []
    for char in text:
        if char == " ":
            codes.append(0x03)
        elif char == "é":
            codes.append(0x10)
        elif char.islower():
            codes.append(0x44 + ord(char) - ord("a"))
        else:
            codes.append(0x24 + ord(char) - ord("A"))
    return "<" + "".join(f"{c:04X}" for c in codes) + ">"


def cid_pdf(content: str) -> bytes:
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
        6: b"<< /Type /Page /Parent 2 0 R /Contents 7 0 R "
        b"/Resources << /Font << /F4 3 0 R >> >> >>",
        7: pdf_stream(content.encode("latin-1")),
        **to_unicode_font(CMAP),
    }
    return make_pdf(objects)


# --- HTML -------------------------------------------------------------------------------------


def test_html_keeps_what_a_reader_sees() -> None:
    page = (
        b"<!doctype html><html><head><meta charset=utf-8><title>Le cycle de l'eau</title>"
        b"<style>p { color: red }</style><script>var secret = 1;</script></head>"
        b"<body><h1>L&rsquo;&eacute;vaporation</h1><p>La pluie<br>tombe.</p>"
        b'<ul><li>un</li><li>deux</li></ul><img src="a.png" alt="Un nuage gris">'
        b"<noscript>Activez JavaScript</noscript><template>cach\xc3\xa9</template></body></html>"
    )
    text = html_text(page)
    assert "Le cycle de l'eau" in text  # the title, not repeated in the body
    assert "L\u2019évaporation" in text and "Un nuage gris" in text
    assert "pluie\ntombe" in text and "un\ndeux" in text  # breaks keep words apart
    for hidden in ("secret", "color", "JavaScript", "caché"):
        assert hidden not in text


def test_html_without_closing_head_still_has_a_body() -> None:
    assert "Photosynthesis makes sugar" in html_text(
        b"<html><head><title>T</title><h1>Photosynthesis makes sugar</h1>"
    )


def test_html_in_a_declared_legacy_charset() -> None:
    page = '<meta charset="windows-1252"><p>Équation du ciel</p>'.encode("cp1252")
    assert "Équation du ciel" in html_text(page)


def test_html_text_is_capped() -> None:
    page = b"<p>" + b"word " * 100_000 + b"</p>"
    assert len(html_text(page, limit=1000)) <= 1000


@pytest.mark.parametrize(
    "junk",
    [b"", b"\x00\xff" * 500, b"<" * 10_000, b"<p>unclosed <b><i><!-- comment", b"<![CDATA[x"],
)
def test_html_junk_never_raises(junk: bytes) -> None:
    assert isinstance(html_text(junk), str)


# --- Exercises and subtitles ------------------------------------------------------------------


def test_exercise_text_has_prompts_choices_hints_but_no_answers() -> None:
    text = exercise_text(json.dumps(EXERCISE).encode())
    assert "Which is one half?" in text and "1/3" in text and "Two equal parts." in text
    assert "Water in French?" in text
    assert "eau" not in text.replace("Water", "")  # a text answer stays secret
    assert "One of two equal parts is a half." not in text  # explanations too


def test_broken_exercise_is_empty_text() -> None:
    assert exercise_text(b"{not json") == ""
    assert exercise_text(b'{"questions": 7}') == ""


def test_subtitles_give_what_is_said() -> None:
    vtt = (
        b"WEBVTT\n\n00:00.000 --> 00:02.000\n<v Amina>Wash your hands</v>\n\n"
        b"00:02.000 --> 00:04.000\nwith soap.\n"
    )
    assert subtitle_text(vtt) == "Wash your hands\nwith soap."
    assert subtitle_text(b"\xff\xfe junk") == ""


def test_lesson_text_by_kind() -> None:
    assert lesson_text("article", b"<p>Hello</p>") == "Hello"
    assert lesson_text("video", b"\x00\x00\x00\x18ftypmp42") == ""
    assert "Hello page" in lesson_text("pdf", simple_pdf(b"BT /F1 12 Tf (Hello page) Tj ET"))


# --- PDF ----------------------------------------------------------------------------------------


def test_pdf_simple_font_operators_and_escapes() -> None:
    content = (
        b"BT /F1 12 Tf 14 TL 72 720 Td (Water \\(H2O\\) \\351vaporates) Tj "
        b"0 -14 Td [(Con) 10 (densation) -400 (and) -250 (rain)] TJ "
        b"(next line) ' 1 2 (last line) \" ET"
    )
    text = extract_text(simple_pdf(content))
    assert text.splitlines() == [
        "Water (H2O) évaporates",
        "Condensation and rain",
        "next line",
        "last line",
    ]


def test_pdf_pages_come_in_order() -> None:
    text = extract_text(
        simple_pdf(b"BT /F1 9 Tf (page one) Tj ET", b"BT /F1 9 Tf (page two) Tj ET")
    )
    assert text.splitlines() == ["page one", "page two"]


def test_pdf_cid_font_with_tounicode_cmap() -> None:
    text = extract_text(cid_pdf(f"BT /F4 12 Tf 1 0 0 -1 8 50 Tm {cid('Les plantes')} Tj ET"))
    assert text == "Les plantes"


def test_pdf_cmap_ranges_arrays_ligatures_and_astral_characters() -> None:
    content = f"BT /F4 12 Tf {cid('Café ')} Tj <00600061> Tj <0011> Tj ET"
    text = extract_text(cid_pdf(content))
    assert text.startswith("Café")
    assert "flfi" in text  # the two ligature glyphs, each to two letters
    assert "\U0001d11e" in text  # a surrogate pair in the CMap


def test_pdf_same_line_runs_join_and_new_lines_split() -> None:
    # Chromium draws a subscript in its own text object, smaller and a little lower, right
    # where the word's last glyph ends ("Le CO" is 5 glyphs of 6 points from x=8): one word.
    content = (
        f"BT /F4 12 Tf 1 0 0 -1 8 95 Tm {cid('Le CO')} Tj ET "
        f"BT /F4 8 Tf 1 0 0 -1 38 98 Tm <0010> Tj ET "
        f"BT /F4 12 Tf 1 0 0 -1 42 95 Tm {cid(' et')} Tj ET "
        f"BT /F4 12 Tf 1 0 0 -1 8 120 Tm {cid('Fin')} Tj ET"
    )
    assert extract_text(cid_pdf(content)).splitlines() == ["Le COé et", "Fin"]


def test_pdf_differences_encoding_glyph_names() -> None:
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman "
        b"/Encoding << /Type /Encoding /Differences [65 /eacute /Egrave /fi /uni00E7 /space] >> >>"
    )
    text = extract_text(simple_pdf(b"BT /F1 12 Tf (ABCDE) Tj ET", font=font))
    assert text == "éÈfiç"


def test_pdf_object_streams_form_xobjects_and_indirect_length() -> None:
    pages = b"<< /Type /Pages /Kids [6 0 R] /Count 1 >> "
    inside = pages + b"<< /Type /Font /Subtype /Type1 >>"
    header = f"2 0 3 {len(pages)} ".encode()
    object_stream = pdf_stream(header + inside, f"/Type /ObjStm /N 2 /First {len(header)} ")
    form = b"BT /F1 10 Tf (inside a form) Tj ET"
    form_fonts = "<< /Font << /F1 3 0 R >> >>"  # a form names its own resources
    page_content = zlib.compress(b"BT /F1 10 Tf (on the page) Tj ET /X1 Do")
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        4: object_stream,
        6: b"<< /Type /Page /Parent 2 0 R /Contents 7 0 R /Resources "
        b"<< /Font << /F1 3 0 R >> /XObject << /X1 9 0 R >> >> >>",
        7: b"<< /Length 8 0 R /Filter /FlateDecode >>\nstream\n" + page_content + b"\nendstream",
        8: str(len(page_content)).encode(),
        9: pdf_stream(form, f"/Type /XObject /Subtype /Form /Resources {form_fonts} "),
    }
    pdf = make_pdf_xref_stream(objects, packed={2: (4, 0), 3: (4, 1)})
    assert extract_text(pdf).splitlines() == ["on the page", "inside a form"]


def test_pdf_right_to_left_lines_read_in_logical_order() -> None:
    # PDFs store Arabic glyphs left to right as drawn: reversed from reading order.
    drawn = "ءاملا"  # "الماء" (water) as drawn
    font = b"<< /Type /Font /Subtype /Type0 /ToUnicode 5 0 R /Encoding /Identity-H >>"
    cmap = b"1 begincodespacerange <0000> <FFFF> endcodespacerange 4 beginbfchar "
    cmap += b"<0001> <0621> <0002> <0627> <0003> <0645> <0004> <0644> endbfchar"
    codes = {"\u0621": 1, "\u0627": 2, "\u0645": 3, "\u0644": 4}  # hamza, alef, meem, lam
    content = "BT /F1 12 Tf <" + "".join(f"{codes[c]:04X}" for c in drawn) + "> Tj ET"
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
        3: font,
        5: pdf_stream(cmap),
        6: b"<< /Type /Page /Parent 2 0 R /Contents 7 0 R "
        b"/Resources << /Font << /F1 3 0 R >> >> >>",
        7: pdf_stream(content.encode()),
    }
    assert extract_text(make_pdf(objects)) == "الماء"


def test_pdf_text_is_capped() -> None:
    pdf = simple_pdf(b"BT /F1 9 Tf " + b"(many words here) Tj " * 5000 + b"ET")
    assert len(extract_text(pdf, max_chars=500)) <= 500


def test_encrypted_pdf_gives_no_text() -> None:
    pdf = simple_pdf(b"BT /F1 9 Tf (garbled) Tj ET").replace(b"/Size", b"/Encrypt 99 0 R /Size")
    assert extract_text(pdf) == ""


@functools.cache
def _hostile_pdfs() -> dict[str, bytes]:
    good = simple_pdf(b"BT /F1 9 Tf (fine text) Tj ET")
    bomb = zlib.compress(b" " * (4 * MAX_STREAM_BYTES), 9)  # 64 MB of spaces in ~64 KB
    cyclic = make_pdf(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>",
            3: b"<< /Type /Pages /Kids [2 0 R] /Parent 2 0 R >>",
        }
    )
    return {
        "random bytes": bytes(range(256)) * 64,
        "not a pdf": b"PK\x03\x04 a zip",
        "truncated": good[: len(good) // 2],
        "header only": b"%PDF-1.7\n",
        "deflate bomb": make_pdf(
            {
                1: b"<< /Type /Catalog /Pages 2 0 R >>",
                2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                3: b"<< /Type /Page /Parent 2 0 R /Contents [4 0 R 4 0 R 4 0 R 4 0 R 4 0 R] >>",
                4: f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode()
                + bomb
                + b"\nendstream",
            }
        ),
        "cyclic page tree": cyclic,
        "nested arrays": simple_pdf(b"BT /F1 9 Tf " + b"[" * 200_000 + b"(deep) Tj ET"),
        "nested dictionaries": make_pdf({1: b"<<" * 100_000}),
        "huge length": simple_pdf(b"BT (x) Tj ET").replace(b"/Length", b"/Length 99999999999 /L"),
        "unterminated string": simple_pdf(b"BT /F1 9 Tf (never closed " + b"\\(" * 50_000),
        "self reference": make_pdf({1: b"<< /Type /Catalog /Pages 1 0 R >>"}),
        "reference loop": make_pdf({1: b"2 0 R", 2: b"1 0 R"}),
        "huge cmap range": cid_pdf("BT /F4 1 Tf <0044> Tj ET").replace(
            b"<0044> <005D> <0061>", b"<000000> <FFFFFF> <0061>"
        ),
        "inline image": simple_pdf(b"BI /W 4 /H 4 ID \x00\xff(\x00) EI BT /F1 9 Tf (after) Tj ET"),
    }


@pytest.mark.parametrize("name", sorted(_hostile_pdfs()))
def test_hostile_pdf_never_raises_and_stays_bounded(name: str) -> None:
    pdf = _hostile_pdfs()[name]
    started = time.perf_counter()
    text = extract_text(pdf)
    assert isinstance(text, str)
    assert time.perf_counter() - started < 10
    if name == "inline image":
        assert text.endswith("after")


def test_sample_worksheet_keeps_separate_runs_apart() -> None:
    # The answer key's header draws "Part" and "Answers" as two runs with a gap between.
    text = extract_text((WORKSHEET / "fractions-worksheet.pdf").read_bytes())
    words = set(re.findall(r"\w+", text.lower()))
    assert {"fractions", "worksheet", "part", "answers", "denominator"} <= words
    assert "partanswers" not in words


def test_importing_content_does_not_load_pypdf() -> None:
    code = "import sys, content.text, content.pdftext; print('pypdf' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_broken_pdf_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # make_pdf points the cross-reference entries of missing objects at offset 0: pypdf
    # warns about each, then reads the file.
    broken = simple_pdf(b"BT /F1 9 Tf (fine text) Tj ET")
    with caplog.at_level(logging.DEBUG):
        assert extract_text(broken) == "fine text"
    assert [r for r in caplog.records if r.name.startswith("pypdf")] == []


def test_pdf_pages_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdftext, "MAX_PAGES", 2)
    pages = [b"BT /F1 9 Tf (page %d) Tj ET" % at for at in range(3)]
    assert extract_text(simple_pdf(*pages)).splitlines() == ["page 0", "page 1"]


def test_pdf_decompressed_bytes_are_capped_for_the_whole_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each stream is within the per-stream limit; together they are not. pypdf keeps every
    # stream it decoded, so without a file-wide budget memory grows with the page count.
    monkeypatch.setattr(pdftext, "MAX_TOTAL_STREAM_BYTES", 3 * 1024 * 1024)
    pages = [b"BT /F1 9 Tf (page %d) Tj ET" % at + b" " * 1024 * 1024 for at in range(10)]
    text = extract_text(simple_pdf(*pages))
    assert text.startswith("page 0\npage 1") and "page 9" not in text


def test_pdf_work_has_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # One small form drawn thousands of times: pypdf parses it again for each drawing.
    monkeypatch.setattr(pdftext, "MAX_SECONDS", 0.5)
    form = b"BT /F1 9 Tf (in a form) Tj ET" + b" " * 1024 * 1024
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        3: HELVETICA,
        4: b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources "
        b"<< /Font << /F1 3 0 R >> /XObject << /X1 6 0 R >> >> >>",
        5: pdf_stream(b"/X1 Do " * 4000),
        6: pdf_stream(form, "/Subtype /Form /Resources << /Font << /F1 3 0 R >> >> "),
    }
    started = time.perf_counter()
    assert isinstance(extract_text(make_pdf(objects)), str)
    assert time.perf_counter() - started < 5


BOMB_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (400 * 2**20, 400 * 2**20))
from content.pdftext import extract_text
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
text = extract_text(data)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so it would count the test runner's own size.
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]
print(repr(text), seconds, peak)
"""


def test_deflate_bomb_of_200_mb_costs_little_memory_and_time(tmp_path: Path) -> None:
    packer = zlib.compressobj(9)
    bomb = packer.compress(b"BT /F1 9 Tf (never drawn) Tj ET")
    for _ in range(200):
        bomb += packer.compress(b" " * 1024 * 1024)
    bomb += packer.flush()  # 200 MB of content in about 200 KB
    page = (
        b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    )
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [4 0 R 6 0 R] /Count 2 >>",
        3: HELVETICA,
        4: page % 5,
        5: pdf_stream(b"BT /F1 9 Tf (before the bomb) Tj ET"),
        6: page % 7,
        7: f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode()
        + bomb
        + b"\nendstream",
    }
    pdf = tmp_path / "bomb.pdf"
    pdf.write_bytes(make_pdf(objects))
    root = str(Path(__file__).parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD, str(pdf)],
        capture_output=True, text=True, timeout=60, cwd=root, check=True,
    )  # fmt: skip
    text, seconds, peak_kb = done.stdout.rsplit(maxsplit=2)
    assert text.startswith("'before the bomb")  # the page before it is kept
    assert float(seconds) < 10
    assert int(peak_kb) < 150 * 1024  # the bomb was never inflated whole


@pytest.mark.browser
def test_text_of_a_pdf_chromium_made(tmp_path: Path) -> None:
    """The real thing: Chromium's "print to PDF" (CID fonts, ToUnicode, subsetted glyphs)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/test to install it"
    page = tmp_path / "lesson.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><h1>La photosynthèse</h1>"
        "<p>Les plantes fabriquent leur nourriture grâce à la lumière du soleil.</p>"
        "<p>Water cycle: evaporation and condensation.</p>"
        '<p dir="rtl" lang="ar">الماء في الطبيعة</p><p>Kunawa mikono kwa maji safi.</p>',
        encoding="utf-8",
    )
    pdf = tmp_path / "lesson.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = extract_text(pdf.read_bytes())
    for line in (
        "La photosynthèse",
        "Les plantes fabriquent leur nourriture grâce à la lumière du soleil.",
        "Water cycle: evaporation and condensation.",
        "الماء في الطبيعة",
        "Kunawa mikono kwa maji safi.",
    ):
        assert line in text.splitlines()
