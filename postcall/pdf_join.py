"""Join finished PDFs page by page without decoding them: the print room's batch in milliseconds.

pypdf's page copy parses and re-serialises every object of every letter (fonts, widths, content
streams): about 10 ms per letter, ten seconds for a day's batch. A letter from our renderer (or
any PDF with a classic cross-reference table and no object streams) is copied here as it is:
each object's bytes are taken whole from the file, only the dictionary part is scanned for
references to renumber, stream data is never looked at. Page dictionaries are rewritten to hang
under the batch's page tree, with what they inherited from their old one (MediaBox, Resources,
CropBox, Rotate). Objects without references that are byte-identical across letters (font
programs of the same glyph set, ToUnicode maps) are written once.

Any other PDF (object streams, incremental updates, encryption, a damaged table) is first
rewritten by pypdf, whose output is of the simple kind, and then joined the same way.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError, PyPdfError

_WS = b"\x00\t\n\x0c\r "
_TOKEN = re.compile(
    rb"(?P<ws>[\x00\t\n\x0c\r ]+)|(?P<comment>%[^\r\n]*)|(?P<open><<|\[)|(?P<close>>>|\])"
    rb"|(?P<hex><[0-9A-Fa-f\x00\t\n\x0c\r ]*>)|(?P<name>/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*)"
    rb"|(?P<str>\()|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))"
    rb"|(?P<word>[^\x00\t\n\x0c\r ()<>\[\]{}/%]+)"
)
_OBJ_HEADER = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_STREAM = re.compile(rb"stream\r?\n")
_VERSION = re.compile(rb"%PDF-(\d\.\d)")
_INHERITED = (b"/Resources", b"/MediaBox", b"/CropBox", b"/Rotate")


class JoinError(ValueError):
    """The PDF cannot be read as a document with pages."""


class _Unsupported(Exception):
    """Not of the simple kind: to be rewritten by pypdf first."""


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    value: bytes


def _skip_string(data: bytes, pos: int) -> int:
    """Position after the literal string starting at `pos` (an opening parenthesis)."""
    depth = 0
    length = len(data)
    while pos < length:
        char = data[pos]
        if char == 0x5C:  # backslash: the next byte is escaped
            pos += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    raise _Unsupported("unterminated string")


def _tokens(data: bytes) -> Iterator[_Token]:
    pos = 0
    length = len(data)
    while pos < length:
        match = _TOKEN.match(data, pos)
        if match is None:
            raise _Unsupported(f"unexpected byte at {pos}")
        kind = match.lastgroup or ""
        if kind == "str":
            end = _skip_string(data, pos)
            yield _Token("str", pos, end, data[pos:end])
            pos = end
            continue
        pos = match.end()
        if kind not in ("ws", "comment"):
            yield _Token(kind, match.start(), pos, match.group())


def _split_object(body: bytes) -> tuple[bytes, bytes]:
    """(the value, its stream through `endstream` or b"") of an object's body after `n g obj`.

    The stream is measured by its direct /Length, never searched for; whatever follows the
    object must be `endobj` and white space, or the file is left to pypdf.
    """
    depth = 0
    end = 0
    for token in _tokens(body):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        end = token.end
        if depth <= 0:
            break
    value, rest, stream = body[:end], body[end:], b""
    if rest.lstrip(_WS).startswith(b"stream"):
        keyword = _STREAM.search(rest)
        length = _entries(value.strip()).get(b"/Length")
        if keyword is None or length is None:
            raise _Unsupported("malformed stream")
        size = value.strip()[length[1] : length[2]]
        if not size.isdigit():
            raise _Unsupported("stream length is not a direct number")
        data_end = keyword.end() + int(size)
        closing = rest[data_end:].lstrip(_WS)
        if not closing.startswith(b"endstream"):
            raise _Unsupported("stream length does not match")
        stream = rest[: len(rest) - len(closing) + 9]
        rest = closing[9:]
    tail = rest.strip(_WS)
    if not tail.startswith(b"endobj") or tail[6:].strip(_WS):
        raise _Unsupported("bytes outside objects")
    return value, stream


def _refs(part: bytes) -> list[tuple[int, int, int]]:
    """(start, end, object number) of each indirect reference `n g R`."""
    found: list[tuple[int, int, int]] = []
    recent: list[_Token] = []
    for token in _tokens(part):
        if token.kind == "word" and token.value == b"R" and len(recent) == 2:
            number, generation = recent
            if number.kind == generation.kind == "num" and number.value.isdigit():
                found.append((number.start, token.end, int(number.value)))
            recent = []
            continue
        recent = [*recent[-1:], token]
    return found


def _entries(part: bytes) -> dict[bytes, tuple[int, int, int]]:
    """Top-level keys of a dictionary: where the key starts, where its value starts and ends."""
    tokens = list(_tokens(part))
    if not tokens or tokens[0].value != b"<<":
        raise _Unsupported("not a dictionary")
    entries: dict[bytes, tuple[int, int, int]] = {}
    index = 1
    while index < len(tokens) and tokens[index].value != b">>":
        key = tokens[index]
        if key.kind != "name" or index + 1 >= len(tokens):
            raise _Unsupported("malformed dictionary")
        first = index + 1
        last = first
        if tokens[first].kind == "open":
            depth = 0
            while True:
                kind = tokens[last].kind
                depth += 1 if kind == "open" else -1 if kind == "close" else 0
                if depth == 0:
                    break
                last += 1
        elif (
            tokens[first].kind == "num" and first + 2 < len(tokens)
            and tokens[first + 1].kind == "num" and tokens[first + 2].value == b"R"
        ):  # fmt: skip
            last = first + 2
        entries[key.value] = (key.start, tokens[first].start, tokens[last].end)
        index = last + 1
    return entries


def _ref_number(value: bytes) -> int:
    parts = value.split()
    if len(parts) != 3 or parts[2] != b"R" or not parts[0].isdigit():
        raise _Unsupported("expected a reference")
    return int(parts[0])


@dataclass(frozen=True)
class _Object:
    part: bytes  # the dictionary (or other value) before any stream
    stream: bytes  # from after the dictionary through "endstream", or empty
    refs: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Letter:
    """A parsed letter: its objects, its pages in order and the header's version."""

    objects: dict[int, _Object]
    pages: tuple[int, ...]
    inherited: dict[int, dict[bytes, bytes]]  # page → inheritable entries from its ancestors
    version: bytes

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def media_box(self, page: int) -> bytes:
        obj = self.objects[page]
        part = obj.part.strip()
        entries = _entries(part)
        if b"/MediaBox" in entries:
            _, start, end = entries[b"/MediaBox"]
            box = part[start:end]
        else:
            box = self.inherited[page].get(b"/MediaBox", b"[0 0 595.28 841.89]")
        if box.rstrip().endswith(b"R"):  # an indirect array
            box = self.objects[_ref_number(box)].part.strip()
        return box


def _xref(data: bytes) -> tuple[dict[int, int], bytes, int]:
    """In-use objects (number → offset), the trailer and the table's offset."""
    tail = data[-2048:]
    at = tail.rfind(b"startxref")
    if at < 0:
        raise _Unsupported("no startxref")
    start = int(tail[at + 9 :].split()[0])
    if data[start : start + 4] != b"xref":
        raise _Unsupported("cross-reference stream")
    trailer_at = data.find(b"trailer", start)
    if trailer_at < 0:
        raise _Unsupported("no trailer")
    lines = data[start + 4 : trailer_at].split()
    offsets: dict[int, int] = {}
    index = 0
    while index < len(lines):
        first, count = int(lines[index]), int(lines[index + 1])
        index += 2
        for number in range(first, first + count):
            offset, generation, kind = lines[index : index + 3]
            index += 3
            if kind == b"n":
                if int(generation) != 0:
                    raise _Unsupported("generation numbers")
                offsets[number] = int(offset)
    end = data.find(b"startxref", trailer_at)
    trailer = data[trailer_at + 7 : end]
    return offsets, trailer, start


def _parse_simple(data: bytes) -> Letter:
    offsets, trailer, table_at = _xref(data)
    trailer_entries = _entries(trailer.strip())
    if any(key in trailer_entries for key in (b"/Prev", b"/Encrypt", b"/XRefStm")):
        raise _Unsupported("incremental update or encryption")
    _, start, end = trailer_entries[b"/Root"]
    root = _ref_number(trailer.strip()[start:end])
    ordered = sorted(offsets.items(), key=lambda item: item[1])
    objects: dict[int, _Object] = {}
    for position, (number, offset) in enumerate(ordered):
        stop = ordered[position + 1][1] if position + 1 < len(ordered) else table_at
        span = data[offset:stop]
        header = _OBJ_HEADER.match(span)
        if header is None or int(header.group(1)) != number:
            raise _Unsupported("cross-reference offsets do not point at objects")
        part, stream = _split_object(span[header.end() :])
        objects[number] = _Object(part, stream, tuple(_refs(part)))
    version = _VERSION.match(data)
    catalog = objects[root]
    _, start, end = _entries(catalog.part.strip())[b"/Pages"]
    pages: list[int] = []
    inherited: dict[int, dict[bytes, bytes]] = {}
    _walk(objects, _ref_number(catalog.part.strip()[start:end]), {}, pages, inherited, set())
    return Letter(objects, tuple(pages), inherited, version.group(1) if version else b"1.4")


def _walk(
    objects: dict[int, _Object], node: int, inherit: dict[bytes, bytes], pages: list[int],
    inherited: dict[int, dict[bytes, bytes]], seen: set[int],
) -> None:  # fmt: skip
    if node in seen or node not in objects:
        raise _Unsupported("broken page tree")
    seen.add(node)
    part = objects[node].part.strip()
    entries = _entries(part)
    own = {key: part[s:e] for key, (_, s, e) in entries.items() if key in _INHERITED}
    if b"/Kids" in entries:
        _, start, end = entries[b"/Kids"]
        kids = _refs(part[start:end])
        for _, _, kid in kids:
            _walk(objects, kid, inherit | own, pages, inherited, seen)
        return
    pages.append(node)
    inherited[node] = inherit


def _page_items(letter: Letter, number: int) -> list[bytes]:
    """A page's entries (`/Key value`) without /Parent, plus what it inherited."""
    part = letter.objects[number].part.strip()
    entries = _entries(part)
    items = [part[start:end] for key, (start, _, end) in entries.items() if key != b"/Parent"]
    items += [
        key + b" " + value for key, value in letter.inherited[number].items()
        if key not in entries
    ]  # fmt: skip
    return items


def read_letter(data: bytes) -> Letter:
    """Parse a letter for joining; PDFs of another kind are rewritten by pypdf first."""
    try:
        letter = _parse_simple(data)
    except (_Unsupported, ValueError, IndexError, KeyError):
        rewritten = _normalise(data)
        try:
            letter = _parse_simple(rewritten)
        except (_Unsupported, ValueError, IndexError, KeyError) as exc:
            raise JoinError("a letter in the batch cannot be joined") from exc
    if not letter.pages:
        raise JoinError("a letter in the batch has no pages")
    return letter


def _normalise(data: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data))
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise JoinError("a letter in the batch is not a readable PDF") from exc
    return out.getvalue()


class BatchWriter:
    """A PDF built from whole letters; `add` takes each in order, `finish` writes the file."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offsets: list[int] = [0, 0]  # objects 1 (catalog) and 2 (pages), written last
        self._size = 0
        self._kids: list[int] = []
        self._version = b"1.4"
        self._leaves: dict[bytes, int] = {}

    def _write(self, number: int, body: bytes) -> None:
        self._offsets[number - 1] = self._size
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        self._chunks.append(chunk)
        self._size += len(chunk)

    def _allocate(self) -> int:
        self._offsets.append(0)
        return len(self._offsets)

    def add(self, letter: Letter) -> None:
        self._version = max(self._version, letter.version)
        pages = {number: _page_items(letter, number) for number in letter.pages}
        # Everything the pages reach (not back up their old page tree), in file order.
        reached: set[int] = set(pages)
        pending = list(pages)
        while pending:
            number = pending.pop()
            refs = (
                [ref for item in pages[number] for ref in _refs(item)] if number in pages
                else letter.objects[number].refs
            )  # fmt: skip
            for _, _, target in refs:
                if target not in letter.objects:
                    raise JoinError("a letter in the batch refers to a missing object")
                if target not in reached:
                    reached.add(target)
                    pending.append(target)
        numbers: dict[int, int] = {}
        fresh: list[int] = []
        for number in sorted(reached):
            obj = letter.objects[number]
            if number in pages or obj.refs:
                numbers[number] = self._allocate()
                fresh.append(number)
                continue
            # A leaf (no references) identical to one already written is shared.
            digest = hashlib.sha256(obj.part.strip() + b"\0" + obj.stream).digest()
            if digest not in self._leaves:
                self._leaves[digest] = self._allocate()
                fresh.append(number)
            numbers[number] = self._leaves[digest]
        for number in fresh:
            if number in pages:
                items = [_renumber(item, _refs(item), numbers) for item in pages[number]]
                body = b"<<\n" + b"\n".join(items) + b"\n/Parent 2 0 R\n>>"
                self._write(numbers[number], body)
                continue
            obj = letter.objects[number]
            self._write(numbers[number], _renumber(obj.part, obj.refs, numbers) + obj.stream)
        self._kids.extend(numbers[number] for number in letter.pages)

    def add_blank_page(self, media_box: bytes) -> None:
        number = self._allocate()
        self._write(number, b"<<\n/Type /Page\n/MediaBox %s\n/Resources << >>\n/Parent 2 0 R\n>>"
                    % media_box)  # fmt: skip
        self._kids.append(number)

    def finish(self) -> bytes:
        header = b"%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n" % self._version
        shift = len(header)
        tail: list[bytes] = []
        size = self._size
        for number, body in (
            (1, b"<<\n/Type /Catalog\n/Pages 2 0 R\n>>"),
            (2, b"<<\n/Type /Pages\n/Count %d\n/Kids [%s]\n>>"
             % (len(self._kids), b" ".join(b"%d 0 R" % kid for kid in self._kids))),
        ):  # fmt: skip
            self._offsets[number - 1] = size
            chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
            tail.append(chunk)
            size += len(chunk)
        content = b"".join(self._chunks + tail)
        xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(self._offsets) + 1)]
        xref += [b"%010d 00000 n \n" % (offset + shift) for offset in self._offsets]
        digest = hashlib.md5(content, usedforsecurity=False).hexdigest().upper().encode()
        trailer = (
            b"trailer\n<<\n/Size %d\n/Root 1 0 R\n/ID [<%s><%s>]\n>>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self._offsets) + 1, digest, digest, shift + size)
        )
        return header + content + b"".join(xref) + trailer


def _renumber(part: bytes, refs: Sequence[tuple[int, int, int]], numbers: dict[int, int]) -> bytes:
    out: list[bytes] = []
    pos = 0
    for start, end, number in refs:
        out.append(part[pos:start])
        out.append(b"%d 0 R" % numbers[number])
        pos = end
    out.append(part[pos:])
    return b"".join(out)
