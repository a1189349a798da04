"""The words of a PDF, for search, read by pypdf (imported on first use, so importing
`content` stays cheap).

Junk in, empty or partial text out: `extract_text` never raises, and its work is bounded by
the limits below, so a hostile file costs no more than a big honest one. pypdf bounds each
stream it decodes; we add what it lacks: a budget for the whole file (it keeps every stream
it decoded in memory), a deadline, and caps on pages and characters.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from contextvars import ContextVar
from io import BytesIO
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypdf import PageObject
    from pypdf.generic import StreamObject

MAX_INPUT_BYTES = 64 * 1024 * 1024
# Decompressed, per stream. Small because pypdf parses a hostile content stream (one long hex
# string) at about 0.5 MB/s on a laptop, with 20-30 times its size in memory, so this also
# bounds what one stream costs; a page of honest text is tens of KB.
MAX_STREAM_BYTES = 2 * 1024 * 1024
MAX_TOTAL_STREAM_BYTES = 64 * 1024 * 1024  # decompressed, whole file
MAX_PAGES = 2000
MAX_SECONDS = 30.0  # a long honest book on a Pi Zero; the character cap usually ends sooner
DEFAULT_MAX_CHARS = 500_000

_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": MAX_INPUT_BYTES,
    "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
    "zlib_maximum_output_length": MAX_STREAM_BYTES,
    "lzw_maximum_output_length": MAX_STREAM_BYTES,
    "run_length_maximum_output_length": MAX_STREAM_BYTES,
    "brotli_maximum_output_length": MAX_STREAM_BYTES,
    "jbig2_maximum_output_length": MAX_STREAM_BYTES,
    "stream_decoding_work_maximum_length": 2 * MAX_STREAM_BYTES,  # all filters of a stream
    "jbig2dec_binary": None,  # text needs no images: never run an outside program
}


class _Stop(Exception):
    """A limit was reached: stop reading, keep what we have."""


class _Budget:
    """Decompressed bytes and time left for one file. Once spent it stays spent, so a check
    pypdf swallows (it skips a broken form or font and goes on) fails again at the next one."""

    def __init__(self) -> None:
        self.bytes_left = MAX_TOTAL_STREAM_BYTES
        self.deadline = time.monotonic() + MAX_SECONDS

    def check(self, *_: Any) -> None:  # also pypdf's visitor, called before each operator
        if self.bytes_left < 0 or time.monotonic() > self.deadline:
            raise _Stop

    def spend(self, size: int) -> None:
        self.bytes_left -= size
        self.check()


_BUDGET: ContextVar[_Budget | None] = ContextVar("pdftext_budget", default=None)
_SETUP = threading.Lock()
_setup_done = False


def extract_text(data: bytes, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text of every page, in page order, lines separated by newlines; "" for junk."""
    if len(data) > MAX_INPUT_BYTES or data.lstrip()[:5] != b"%PDF-":
        return ""
    pages: list[str] = []
    budget = _Budget()
    token = _BUDGET.set(budget)
    try:
        _read_pages(data, max_chars, budget, pages)
    except Exception:  # best effort by contract: junk gives what was read before it
        pass
    finally:
        _BUDGET.reset(token)
    return _tidy("\n".join(pages))[:max_chars]


def _read_pages(data: bytes, max_chars: int, budget: _Budget, pages: list[str]) -> None:
    """Append each page's text to `pages` until the text is long enough or a limit is hit."""
    import pypdf  # here, not at the top: it is big and only indexing needs it

    _setup()
    with pypdf.apply_configuration(**_LIMITS):
        reader = pypdf.PdfReader(BytesIO(data), strict=False)
        size = 0
        for page in islice(reader.pages, MAX_PAGES):
            budget.check()
            pages.append(_page_text(page, budget))
            size += len(pages[-1])
            if size >= max_chars:
                return


def _page_text(page: PageObject, budget: _Budget) -> str:
    try:
        return page.extract_text(visitor_operand_before=budget.check)
    except _Stop:
        raise
    except Exception:  # a broken page does not lose the others
        return ""


def _setup() -> None:
    """Once per process: quiet pypdf's logger and count what it decompresses."""
    global _setup_done
    with _SETUP:
        if not _setup_done:
            _quiet_logger()
            _count_decoding()
            _setup_done = True


def _quiet_logger() -> None:
    """pypdf logs a warning for each flaw it works around. Broken PDFs are expected here
    (they give less text, nothing else), so unless the operator chose a level for pypdf,
    only its critical messages reach the log."""
    logger = logging.getLogger("pypdf")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.CRITICAL)


def _count_decoding() -> None:
    """pypdf bounds each stream but not their sum, and caches every decoded stream of the
    file: wrap its one decoding function so our calls spend from their budget (others,
    with no budget set, pass through unchanged)."""
    from pypdf import filters

    decode = filters.decode_stream_data

    def budgeted(stream: StreamObject) -> bytes:
        budget = _BUDGET.get()
        if budget is None:
            return decode(stream)
        budget.check()
        data = decode(stream)
        budget.spend(len(data))
        return data

    filters.decode_stream_data = budgeted


def _tidy(text: str) -> str:
    """Stripped, non-empty lines; ligatures apart (ﬁ -> fi) and control characters out."""
    lines = (_clean(line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _clean(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        c if unicodedata.category(c) not in ("Cc", "Co", "Cs", "Cn") else " " for c in text
    )
