"""The words of a PDF, for search: a small, best-effort text extractor with no dependency.

It reads what the PDFs our authors make contain (Chromium's "Save as PDF", office suites):
objects in the file and in object streams, FlateDecode/ASCIIHex/ASCII85 streams, the page
tree, fonts with ToUnicode CMaps (bfchar and bfrange, the CID fonts Chromium embeds) or a
simple 8-bit encoding, form XObjects, and the text operators Tj, TJ, ' and ".

Junk in, empty or partial text out: `extract_text` never raises, and its work is bounded by
the input size and the limits below, so a hostile file costs no more than a big honest one.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_STREAM_BYTES = 16 * 1024 * 1024  # decompressed, per stream
MAX_TOTAL_STREAM_BYTES = 64 * 1024 * 1024  # decompressed, whole file
MAX_PAGES = 2000
MAX_OBJECTS = 200_000
MAX_DEPTH = 32  # nesting of arrays and dictionaries
MAX_FORM_DEPTH = 4
MAX_CMAP_RANGE = 65536  # codes in one bfrange
MAX_CMAP_CODES = 200_000  # codes in one CMap  # form XObjects drawn inside form XObjects
DEFAULT_MAX_CHARS = 500_000

# A gap in a TJ array wider than this (thousandths of an em) is a word space.
TJ_SPACE = 180


class _Stop(Exception):
    """Enough text, or a limit was reached: stop reading, keep what we have."""


@dataclass(frozen=True)
class Ref:
    number: int
    generation: int


class Name(str):
    """A PDF name (/Font), distinct from a string."""


class Operator(str):
    """A content-stream operator (Tj, BT, ...)."""


def extract_text(data: bytes, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The text of every page, in page order, lines separated by newlines; "" for junk."""
    out = _Output(max_chars)
    try:
        if len(data) <= MAX_INPUT_BYTES and data.lstrip()[:5] == b"%PDF-":
            _Document(data, out).read_pages()
    except _Stop:
        pass
    except Exception:  # best effort by contract: junk gives what was read before it
        pass
    return out.text()


class _Output:
    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.current: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        if not text:
            return
        self.current.append(text)
        self.size += len(text)
        if self.size >= self.max_chars:
            self.newline()
            raise _Stop

    def space(self) -> None:
        if self.current and not self.current[-1].endswith(" "):
            self.current.append(" ")

    def newline(self) -> None:
        if self.current:
            self.lines.append(_logical_order("".join(self.current)).strip())
            self.current = []

    def text(self) -> str:
        self.newline()
        return "\n".join(line for line in self.lines if line)[: self.max_chars]


def _logical_order(line: str) -> str:
    """PDFs draw right-to-left scripts in visual order; a mostly-RTL line reads reversed."""
    rtl = sum(1 for c in line if unicodedata.bidirectional(c) in ("R", "AL"))
    ltr = sum(1 for c in line if unicodedata.bidirectional(c) == "L")
    return line[::-1] if rtl > ltr else line


# --- Low-level syntax -------------------------------------------------------------------

_WHITESPACE = b" \t\r\n\f\x00"
_DELIMITERS = b"()<>[]{}/%"
_REGULAR_END = re.compile(rb"[ \t\r\n\f\x00()<>\[\]{}/%]")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)$")
_SPACE_OR_COMMENT = re.compile(rb"(?:[ \t\r\n\f\x00]+|%[^\r\n]*)+")
_STRING_SPECIAL = re.compile(rb"[()\\]")
_OCTAL = re.compile(rb"[0-7]{1,3}")
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj\b")
_STRING_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("("): b"(",
    ord(")"): b")",
    ord("\\"): b"\\",
}


class _Lexer:
    """PDF objects and operators from bytes, one at a time."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def skip_space(self) -> None:
        """Past whitespace and % comments."""
        match = _SPACE_OR_COMMENT.match(self.data, self.pos, self.end)
        if match:
            self.pos = match.end()

    def next(self, depth: int = 0) -> Any:
        """The next object or operator; raises EOFError at the end."""
        self.skip_space()
        if self.pos >= self.end:
            raise EOFError
        if depth > MAX_DEPTH:
            raise ValueError("nested too deep")
        byte = self.data[self.pos]
        if byte == 0x28:  # (
            return self._literal_string()
        if byte == 0x3C:  # <
            if self.data[self.pos + 1 : self.pos + 2] == b"<":
                self.pos += 2
                return self._dictionary(depth)
            return self._hex_string()
        if byte == 0x5B:  # [
            self.pos += 1
            return self._array(depth)
        if byte == 0x2F:  # /
            return self._name()
        if byte in b"])>}{":
            self.pos += 1
            if byte == 0x3E and self.data[self.pos : self.pos + 1] == b">":
                self.pos += 1
                return Operator(">>")
            return Operator(chr(byte))
        return self._regular()

    def _regular(self) -> Any:
        match = _REGULAR_END.search(self.data, self.pos, self.end)
        stop = match.start() if match else self.end
        word = self.data[self.pos : stop]
        self.pos = stop
        if _NUMBER.match(word):
            return float(word) if b"." in word else int(word)
        if word == b"true":
            return True
        if word == b"false":
            return False
        if word == b"null":
            return None
        return Operator(word.decode("latin-1"))

    def _name(self) -> Name:
        self.pos += 1
        match = _REGULAR_END.search(self.data, self.pos, self.end)
        stop = match.start() if match else self.end
        raw = self.data[self.pos : stop]
        self.pos = stop
        if b"#" in raw:
            raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), raw)
        return Name(raw.decode("latin-1"))

    def _literal_string(self) -> bytes:
        data, end = self.data, self.end
        pos = self.pos + 1
        depth = 1
        out = bytearray()
        while pos < end:
            special = _STRING_SPECIAL.search(data, pos, end)
            if special is None:
                out += data[pos:end]
                pos = end
                break
            out += data[pos : special.start()]
            pos = special.start()
            byte = data[pos]
            if byte == 0x5C:  # backslash
                pos = self._escape(out, pos + 1)
                continue
            depth += 1 if byte == 0x28 else -1
            pos += 1
            if depth == 0:
                break
            out.append(byte)
        self.pos = pos
        return bytes(out)

    def _escape(self, out: bytearray, pos: int) -> int:
        """Append the escaped byte at `pos` (just after a backslash); the position after it."""
        data = self.data
        if pos >= self.end:
            return pos
        escaped = data[pos]
        if escaped in _STRING_ESCAPES:
            out += _STRING_ESCAPES[escaped]
            return pos + 1
        digits = _OCTAL.match(data, pos, min(pos + 3, self.end))
        if digits:
            out.append(int(digits[0], 8) & 0xFF)
            return digits.end()
        if escaped in b"\r\n":  # a line continuation
            return pos + (2 if data[pos : pos + 2] == b"\r\n" else 1)
        out.append(escaped)
        return pos + 1

    def _hex_string(self) -> bytes:
        close = self.data.find(b">", self.pos, self.end)
        stop = self.end if close < 0 else close
        digits = re.sub(rb"[^0-9A-Fa-f]", b"", self.data[self.pos + 1 : stop])
        self.pos = stop + 1
        if len(digits) % 2:
            digits += b"0"
        return binascii.unhexlify(digits)

    def _array(self, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            item = self.next(depth + 1)
            if isinstance(item, Operator):
                if item == "]":
                    return items
                if item == "R" and len(items) >= 2:
                    items[-2:] = [_ref(items[-2], items[-1])]
                    continue
            items.append(item)

    def _dictionary(self, depth: int) -> dict[str, Any]:
        items: list[Any] = []
        while True:
            item = self.next(depth + 1)
            if isinstance(item, Operator):
                if item == ">>":
                    break
                if item == "R" and len(items) >= 2:
                    items[-2:] = [_ref(items[-2], items[-1])]
                    continue
            items.append(item)
        return {
            key: value
            for key, value in zip(items[::2], items[1::2], strict=False)
            if isinstance(key, Name)
        }


def _ref(number: Any, generation: Any) -> Ref | None:
    if isinstance(number, int) and isinstance(generation, int):
        return Ref(number, generation)
    return None


# --- Streams ----------------------------------------------------------------------------


@dataclass
class _Stream:
    info: dict[str, Any]
    raw: bytes


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_TOTAL_STREAM_BYTES

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise _Stop


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_STREAM_BYTES)
    except zlib.error:
        # A damaged tail: keep what inflated before it, as viewers do.
        inflater = zlib.decompressobj()
        out = b""
        for at in range(0, len(raw), 4096):
            try:
                out += inflater.decompress(raw[at : at + 4096], MAX_STREAM_BYTES - len(out))
            except zlib.error:
                break
            if len(out) >= MAX_STREAM_BYTES:
                break
    return out


def _ascii85(raw: bytes) -> bytes:
    body = raw.strip()
    if body.startswith(b"<~"):
        body = body[2:]
    end = body.find(b"~>")
    body = body[:end] if end >= 0 else body
    return base64.a85decode(re.sub(rb"\s", b"", body))


def _decode(stream: _Stream, budget: _Budget) -> bytes | None:
    filters = stream.info.get("Filter")
    names = filters if isinstance(filters, list) else [filters] if filters else []
    data = stream.raw
    for name in names:
        if name in ("FlateDecode", "Fl"):
            data = _inflate(data)
        elif name in ("ASCIIHexDecode", "AHx"):
            data = binascii.unhexlify(_even_hex(data))
        elif name in ("ASCII85Decode", "A85"):
            data = _ascii85(data)
        else:
            return None  # images and other encodings hold no text we read
    budget.take(len(data))
    return data


def _even_hex(raw: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", raw.split(b">")[0])
    return digits + b"0" if len(digits) % 2 else digits


# --- Document ---------------------------------------------------------------------------


class _Document:
    def __init__(self, data: bytes, out: _Output) -> None:
        self.data = data
        self.out = out
        self.budget = _Budget()
        self.offsets: dict[int, int] = {}
        self.cache: dict[int, Any] = {}
        self.in_streams: dict[int, tuple[int, int]] = {}  # object -> (stream object, index)
        self.fonts: dict[int, _Font] = {}
        self._index()

    def _index(self) -> None:
        """Where each object starts; later definitions win, as incremental updates do."""
        for count, match in enumerate(_OBJ_HEADER.finditer(self.data)):
            if count >= MAX_OBJECTS:
                break
            self.offsets[int(match[1])] = match.end()

    def encrypted(self) -> bool:
        return re.search(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)", self.data) is not None

    def resolve(self, value: Any, depth: int = 0) -> Any:
        while isinstance(value, Ref) and depth < 8:
            value = self.object(value.number)
            depth += 1
        return None if isinstance(value, Ref) else value

    def object(self, number: int) -> Any:
        if number in self.cache:
            return self.cache[number]
        self.cache[number] = None  # a cycle resolves to nothing
        value = self._read_object(number)
        self.cache[number] = value
        return value

    def _read_object(self, number: int) -> Any:
        offset = self.offsets.get(number)
        if offset is None:
            return self._from_object_stream(number)
        lexer = _Lexer(self.data, offset)
        try:
            value = lexer.next()
        except (EOFError, ValueError):
            return None
        if isinstance(value, dict):
            lexer.skip_space()
            if self.data.startswith(b"stream", lexer.pos):
                return _Stream(value, self._stream_bytes(value, lexer.pos + 6))
        return value

    def _stream_bytes(self, info: dict[str, Any], after_keyword: int) -> bytes:
        data = self.data
        start = after_keyword
        if data.startswith(b"\r\n", start):
            start += 2
        elif data[start : start + 1] in (b"\n", b"\r"):
            start += 1
        length = info.get("Length")
        if isinstance(length, Ref):
            length = self.resolve(length)
        if isinstance(length, int) and 0 <= length <= len(data) - start:
            tail = data[start + length : start + length + 12].lstrip(_WHITESPACE)
            if tail.startswith(b"endstream"):
                return data[start : start + length]
        end = data.find(b"endstream", start)
        return data[start : end if end >= 0 else len(data)]

    def _from_object_stream(self, number: int) -> Any:
        if not self.in_streams:
            self._index_object_streams()
        where = self.in_streams.get(number)
        if where is None:
            return None
        container, index = where
        objects = self._object_stream(container)
        return objects[index] if index < len(objects) else None

    def _index_object_streams(self) -> None:
        self.in_streams[-1] = (-1, 0)  # marks the index as built, even when empty
        for container in list(self.offsets):
            if not self._looks_like_object_stream(container):
                continue
            for index, number in enumerate(self._object_stream_numbers(container)):
                if number not in self.offsets:
                    self.in_streams.setdefault(number, (container, index))

    def _looks_like_object_stream(self, number: int) -> bool:
        offset = self.offsets[number]
        head = self.data[offset : offset + 400]
        return b"/ObjStm" in head

    def _object_stream_numbers(self, container: int) -> list[int]:
        header = self._object_stream_header(container)
        return [number for number, _ in header[0]] if header else []

    def _object_stream_header(self, container: int) -> tuple[list[tuple[int, int]], bytes] | None:
        stream = self.object(container)
        if not isinstance(stream, _Stream) or stream.info.get("Type") != "ObjStm":
            return None
        decoded = _decode(stream, self.budget)
        first, count = stream.info.get("First"), stream.info.get("N")
        if decoded is None or not isinstance(first, int) or not isinstance(count, int):
            return None
        numbers = re.findall(rb"\d+", decoded[:first])
        pairs = [
            (int(numbers[i]), int(numbers[i + 1]))
            for i in range(0, min(len(numbers) - 1, 2 * count), 2)
        ]
        return pairs, decoded[first:]

    def _object_stream(self, container: int) -> list[Any]:
        key = -1000 - container
        cached = self.cache.get(key)
        if isinstance(cached, list):
            return cached
        header = self._object_stream_header(container)
        objects: list[Any] = []
        if header is not None:
            pairs, body = header
            for _, offset in pairs:
                try:
                    objects.append(_Lexer(body, offset).next())
                except (EOFError, ValueError):
                    objects.append(None)
        self.cache[key] = objects
        return objects

    # Pages -------------------------------------------------------------------------------

    def read_pages(self) -> None:
        if self.encrypted():
            return
        for page, resources in self._pages():
            self._draw(self._contents(page), resources, 0)
            self.out.newline()

    def _pages(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        root = self._catalog()
        pages = self.resolve(root.get("Pages")) if root else None
        if isinstance(pages, dict):
            yield from self._walk(pages, {}, set(), 0)
            return
        count = 0
        for number in sorted(self.offsets, key=self.offsets.__getitem__):
            node = self.object(number)
            if isinstance(node, dict) and node.get("Type") == "Page":
                count += 1
                if count > MAX_PAGES:
                    return
                yield node, self._dict(node.get("Resources"))

    def _catalog(self) -> dict[str, Any] | None:
        found = re.findall(rb"/Root\s+(\d+)\s+\d+\s+R", self.data)
        for number in reversed(found):
            root = self.object(int(number))
            if isinstance(root, dict):
                return root
        for number in self.offsets:
            head = self.data[self.offsets[number] : self.offsets[number] + 200]
            if b"/Catalog" in head:
                node = self.object(number)
                if isinstance(node, dict) and node.get("Type") == "Catalog":
                    return node
        return None

    def _walk(
        self, node: dict[str, Any], inherited: dict[str, Any], seen: set[int], depth: int
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        if depth > MAX_DEPTH or len(seen) > MAX_PAGES:
            return
        resources = self._dict(node.get("Resources")) or inherited
        kids = self.resolve(node.get("Kids"))
        if node.get("Type") == "Page" or not isinstance(kids, list):
            yield node, resources
            return
        for kid in kids:
            if isinstance(kid, Ref):
                if kid.number in seen:
                    continue
                seen.add(kid.number)
            child = self.resolve(kid)
            if isinstance(child, dict):
                yield from self._walk(child, resources, seen, depth + 1)

    def _dict(self, value: Any) -> dict[str, Any]:
        resolved = self.resolve(value)
        return resolved if isinstance(resolved, dict) else {}

    def _contents(self, page: dict[str, Any]) -> bytes:
        contents = self.resolve(page.get("Contents"))
        parts = contents if isinstance(contents, list) else [contents]
        chunks = []
        for part in parts:
            stream = self.resolve(part)
            if isinstance(stream, _Stream):
                decoded = _decode(stream, self.budget)
                if decoded is not None:
                    chunks.append(decoded)
        return b"\n".join(chunks)

    # Fonts -------------------------------------------------------------------------------

    def font(self, resources: dict[str, Any], name: str) -> _Font:
        fonts = self._dict(resources.get("Font"))
        ref = fonts.get(name)
        key = ref.number if isinstance(ref, Ref) else id(ref)
        if key not in self.fonts:
            self.fonts[key] = self._load_font(self._dict(ref))
        return self.fonts[key]

    def _load_font(self, info: dict[str, Any]) -> _Font:
        to_unicode = self.resolve(info.get("ToUnicode"))
        cmap = None
        if isinstance(to_unicode, _Stream):
            decoded = _decode(to_unicode, self.budget)
            if decoded is not None:
                cmap = _CMap.parse(decoded)
        composite = info.get("Subtype") == "Type0"
        encoding = self.resolve(info.get("Encoding"))
        differences = {}
        base = "WinAnsiEncoding"
        if isinstance(encoding, Name):
            base = str(encoding)
        elif isinstance(encoding, dict):
            base = str(encoding.get("BaseEncoding") or base)
            differences = _differences(self.resolve(encoding.get("Differences")))
        return _Font(cmap, composite, base, differences)

    # Content streams ---------------------------------------------------------------------

    def _draw(self, content: bytes, resources: dict[str, Any], depth: int) -> None:
        font = _Font(None, False, "WinAnsiEncoding", {})
        lexer = _Lexer(content)
        operands: list[Any] = []
        line_y: float | None = None
        while True:
            try:
                token = lexer.next()
            except EOFError:
                return
            except ValueError:
                operands = []
                continue
            if not isinstance(token, Operator):
                operands.append(token)
                if len(operands) > 64:
                    del operands[:-64]
                continue
            op = str(token)
            if op == "Tf" and len(operands) >= 2 and isinstance(operands[-2], Name):
                font = self.font(resources, operands[-2])
            elif op == "Tj" and operands:
                self.out.write(font.decode(operands[-1]))
            elif op == "TJ" and operands and isinstance(operands[-1], list):
                self._show_array(font, operands[-1])
            elif op in ("'", '"') and operands:
                self.out.newline()
                self.out.write(font.decode(operands[-1]))
            elif op in ("Td", "TD") and len(operands) >= 2:
                if _number(operands[-1]):
                    self.out.newline()
            elif op == "Tm" and len(operands) >= 6:
                y = operands[-1] if isinstance(operands[-1], int | float) else None
                if line_y is not None and y != line_y:
                    self.out.newline()
                line_y = y
            elif op == "T*":
                self.out.newline()
            elif op == "BI":
                _skip_inline_image(lexer)
            elif op == "Do" and operands and isinstance(operands[-1], Name):
                self._form(resources, operands[-1], depth)
            operands = []

    def _show_array(self, font: _Font, items: list[Any]) -> None:
        for item in items:
            if isinstance(item, bytes):
                self.out.write(font.decode(item))
            elif isinstance(item, int | float) and item < -TJ_SPACE:
                self.out.space()

    def _form(self, resources: dict[str, Any], name: str, depth: int) -> None:
        if depth >= MAX_FORM_DEPTH:
            return
        xobject = self.resolve(self._dict(resources.get("XObject")).get(name))
        if not isinstance(xobject, _Stream) or xobject.info.get("Subtype") != "Form":
            return
        decoded = _decode(xobject, self.budget)
        if decoded is not None:
            inner = self._dict(xobject.info.get("Resources")) or resources
            self.out.newline()  # a form is drawn apart: its text is a block of its own
            self._draw(decoded, inner, depth + 1)
            self.out.newline()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and value != 0


def _skip_inline_image(lexer: _Lexer) -> None:
    """An inline image's bytes sit between ID and EI; they are not PDF syntax."""
    start = lexer.data.find(b"ID", lexer.pos, lexer.end)
    if start < 0:
        lexer.pos = lexer.end
        return
    end = re.compile(rb"[\s]EI(?=[\s]|$)").search(lexer.data, start + 3, lexer.end)
    lexer.pos = end.end() if end else lexer.end


# --- Fonts and encodings ----------------------------------------------------------------


class _CMap:
    """A ToUnicode CMap: source codes (1 to 4 bytes) to Unicode text."""

    def __init__(self) -> None:
        self.widths: set[int] = set()
        self.chars: dict[bytes, str] = {}

    @classmethod
    def parse(cls, data: bytes) -> _CMap:
        cmap = cls()
        for block in re.findall(rb"begincodespacerange(.*?)endcodespacerange", data, re.S):
            for low, _high in _pairs(_hex_tokens(block)):
                cmap.widths.add(len(low))
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
            for source, target in _pairs(_hex_tokens(block)):
                cmap.chars[source] = _utf16(target)
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
            cmap._ranges(block)
        if not cmap.widths:
            cmap.widths = {len(code) for code in cmap.chars} or {2}
        return cmap

    def _ranges(self, block: bytes) -> None:
        lexer = _Lexer(block)
        items: list[Any] = []
        while True:
            try:
                items.append(lexer.next())
            except (EOFError, ValueError):
                break
        for at in range(0, len(items) - 2, 3):
            low, high, target = items[at : at + 3]
            if isinstance(low, bytes) and isinstance(high, bytes) and len(low) == len(high):
                self._add_range(low, high, target)

    def _add_range(self, low: bytes, high: bytes, target: Any) -> None:
        start, end = int.from_bytes(low, "big"), int.from_bytes(high, "big")
        if end < start or end - start >= MAX_CMAP_RANGE:
            return
        if len(self.chars) + end - start > MAX_CMAP_CODES:
            return
        for offset in range(end - start + 1):
            code = (start + offset).to_bytes(len(low), "big")
            if isinstance(target, list):
                item = target[offset] if offset < len(target) else None
                if isinstance(item, bytes):
                    self.chars[code] = _utf16(item)
            elif isinstance(target, bytes) and target:
                # The last code unit counts up through the range.
                bumped = int.from_bytes(target, "big") + offset
                self.chars[code] = _utf16(bumped.to_bytes(len(target) + 1, "big")[-len(target) :])

    def lookup(self, code: bytes) -> str | None:
        return self.chars.get(code)

    def decode(self, data: bytes) -> str:
        widths = sorted(self.widths)
        out = []
        at = 0
        while at < len(data):
            for width in widths:
                code = data[at : at + width]
                text = self.lookup(code)
                if text is not None:
                    out.append(text)
                    at += width
                    break
            else:
                at += widths[-1] if widths else 1
        return "".join(out)


def _hex_tokens(block: bytes) -> list[bytes]:
    return [
        binascii.unhexlify(_even_hex(h + b">")) for h in re.findall(rb"<([0-9A-Fa-f\s]*)>", block)
    ]


def _pairs(items: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for at in range(0, len(items) - 1, 2):
        yield items[at], items[at + 1]


def _utf16(raw: bytes) -> str:
    if len(raw) == 1:
        return chr(raw[0])
    if len(raw) % 2:
        raw = raw + b"\x00"
    return raw.decode("utf-16-be", errors="ignore")


class _Font:
    def __init__(
        self, cmap: _CMap | None, composite: bool, base: str, differences: dict[int, str]
    ) -> None:
        self.cmap = cmap
        self.composite = composite
        self.base = base
        self.differences = differences

    def decode(self, data: Any) -> str:
        if not isinstance(data, bytes):
            return ""
        if self.cmap is not None:
            text = self.cmap.decode(data)
            if text or self.composite:
                return _clean(text)
        if self.composite:
            return ""  # two-byte glyph ids with no map to Unicode: nothing readable
        return _clean("".join(self._simple(byte) for byte in data))

    def _simple(self, byte: int) -> str:
        if byte in self.differences:
            return self.differences[byte]
        codec = "mac_roman" if self.base == "MacRomanEncoding" else "cp1252"
        return bytes([byte]).decode(codec, errors="replace").replace("\ufffd", "")


def _clean(text: str) -> str:
    """Control characters and private-use glyphs out; ligatures apart (ﬁ -> fi)."""
    if text.isascii() and text.isprintable():
        return text
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        c if unicodedata.category(c) not in ("Cc", "Co", "Cs", "Cn") else " " for c in text
    )


# Glyph names that are not a single letter or uniXXXX; enough for Latin text.
_GLYPHS = {
    "space": " ",
    "period": ".",
    "comma": ",",
    "colon": ":",
    "semicolon": ";",
    "hyphen": "-",
    "endash": "\u2013",
    "emdash": "—",
    "quoteright": "\u2019",
    "quoteleft": "\u2018",
    "quotedblleft": "“",
    "quotedblright": "”",
    "quotesingle": "'",
    "quotedbl": '"',
    "exclam": "!",
    "question": "?",
    "parenleft": "(",
    "parenright": ")",
    "slash": "/",
    "fi": "fi",
    "fl": "fl",
    "ff": "ff",
    "ffi": "ffi",
    "ffl": "ffl",
    "germandbls": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "oslash": "ø",
    "Oslash": "Ø",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_ACCENTS = {
    "acute": "ACUTE",
    "grave": "GRAVE",
    "circumflex": "CIRCUMFLEX",
    "dieresis": "DIAERESIS",
    "tilde": "TILDE",
    "cedilla": "CEDILLA",
    "ring": "RING ABOVE",
    "caron": "CARON",
    "macron": "MACRON",
}


def _glyph_text(name: str) -> str:
    if len(name) == 1:
        return name
    if name in _GLYPHS:
        return _GLYPHS[name]
    hex_name = re.fullmatch(r"uni([0-9A-Fa-f]{4})|u([0-9A-Fa-f]{4,6})", name)
    if hex_name:
        code = int(hex_name[1] or hex_name[2], 16)
        return chr(code) if code <= 0x10FFFF else ""
    accented = re.fullmatch(r"([A-Za-z])([a-z]+)", name)
    if accented and accented[2] in _ACCENTS:
        case = "CAPITAL" if accented[1].isupper() else "SMALL"
        try:
            letter = accented[1].upper()
            return unicodedata.lookup(f"LATIN {case} LETTER {letter} WITH {_ACCENTS[accented[2]]}")
        except KeyError:
            return accented[1]
    return ""


def _differences(items: Any) -> dict[int, str]:
    mapping: dict[int, str] = {}
    if not isinstance(items, list):
        return mapping
    code = 0
    for item in items[:1024]:
        if isinstance(item, int):
            code = item
        elif isinstance(item, Name) and 0 <= code <= 255:
            mapping[code] = _glyph_text(str(item))
            code += 1
    return mapping
