"""Text from outside (a neighbour's announcement, a pack's title, a server's error) made safe
to print on an operator's terminal.

A name holding ESC sequences can clear the screen, retitle the window or hide the lines above
it; C1 controls do the same on many terminals, and bidi overrides make "pack-evil" read as
something else. Every such character is shown as a visible escape (`\\x1b`, `\\u202e`), so the
operator sees that the name is odd instead of having the terminal obey it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 and C1 controls and DEL; line and paragraph separators (new lines on some terminals);
# the bidi embeddings, overrides and isolates (Trojan Source). The bidi marks (U+200E, U+200F)
# and joiners (U+200C, U+200D) stay: Arabic, Indic scripts and emoji need them, and they
# cannot reorder a line.
_BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
# json.dumps escapes C0 in strings itself, and its indentation's new lines must stay.
_JSON_UNSAFE = re.compile(f"[{_BEYOND_C0}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: Any) -> str:
    """`text` with every control, separator and bidi override written as an escape."""
    return UNSAFE.sub(_escape, str(text))


def printable_json(doc: Any) -> str:
    """Indented JSON, non-ASCII kept readable, with the same characters escaped; it reads
    back to the same values (JSON allows \\u escapes in any string)."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
