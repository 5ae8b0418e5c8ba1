"""Cut a TrueType font down to the glyphs one document uses, straight from the file's bytes.

A letter uses some 60 of DejaVu Sans' 6,000 glyphs. fontTools' general subsetter decompiles and
recompiles every table for that (about 10 ms per font and document); here the font file is read
once and each subset is assembled from byte slices: the used glyphs' outlines and hinting
instructions exactly as the file has them, their metrics, the font-wide tables unchanged.

The caller chooses the glyph order: new glyph id i is `glyphs[i]` of the full font (None for an
unused slot, which gets an empty glyph). The PDF side puts each glyph at its character id, so the
CIDToGIDMap is the identity. Parts of composite glyphs (the "a" and the diaeresis of an "ä") are
appended after the last slot and the composites' references renumbered.

Kept tables are those fontTools' subsetter keeps for fpdf2 (no layout tables, no kerning, glyph
names dropped with post format 3). The font bounding box, the extents in 'hhea' and the maximum
values in 'maxp' are recomputed for the subset as fontTools does: renderers size their glyph
caches by the font box, so a letter rasterises exactly as it did with fontTools' subsets.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Mapping, Sequence

# In the order fontTools writes them (the directory itself is sorted by tag).
_WRITE_ORDER = (
    b"head", b"hhea", b"maxp", b"OS/2", b"hmtx", b"cmap", b"fpgm", b"prep", b"cvt ", b"loca",
    b"glyf", b"name", b"post", b"gasp",
)  # fmt: skip
_COPIED = (b"OS/2", b"fpgm", b"prep", b"cvt ", b"gasp")
_REQUIRED = (b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf", b"post")

# Composite glyph flags (OpenType 'glyf' table).
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080

_CHECKSUM_MAGIC = 0xB1B0AFBA


class FontFormatError(ValueError):
    """Not a TrueType-outline font this module can subset."""


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if struct.pack("=I", 1) != struct.pack(">I", 1):
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _component_refs(glyph: bytes) -> list[tuple[int, int]]:
    """(byte offset of the glyph index, glyph index) for each part of a composite glyph."""
    refs: list[tuple[int, int]] = []
    pos = 10  # after numberOfContours and the bounding box
    while True:
        flags, index = struct.unpack_from(">HH", glyph, pos)
        refs.append((pos + 2, index))
        pos += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            pos += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            pos += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            pos += 8
        if not flags & _MORE_COMPONENTS:
            return refs


def _cmap_table(codes: Mapping[int, int]) -> bytes:
    """A format 4 cmap (one segment per code) under Unicode BMP and Windows Unicode BMP."""
    pairs = sorted((code, gid) for code, gid in codes.items() if 0 < code < 0xFFFF)
    pairs.append((0xFFFF, 0))  # the closing segment: 0xFFFF + delta 1 wraps to glyph 0
    count = len(pairs)
    power = 1 << (count.bit_length() - 1)
    search_range = 2 * power
    ends = struct.pack(f">{count}H", *(code for code, _ in pairs))
    deltas = struct.pack(f">{count}H", *(((gid - code) & 0xFFFF) for code, gid in pairs))
    body = (
        ends + b"\0\0" + ends + deltas + b"\0\0" * count  # endCode, pad, startCode, delta, offset
    )
    length = 14 + len(body)
    subtable = struct.pack(
        ">7H",
        4, length, 0, count * 2, search_range, power.bit_length() - 1, count * 2 - search_range,
    ) + body  # fmt: skip
    # Two encoding records (Unicode BMP, Windows Unicode BMP) sharing the one subtable.
    header = struct.pack(">HHHHIHHI", 0, 2, 0, 3, 20, 3, 1, 20)
    return header + subtable


class TrueTypeFont:
    """One TrueType font file, parsed once: table bytes, glyph offsets and horizontal metrics."""

    def __init__(self, data: bytes, *, name_table: bytes | None = None) -> None:
        if len(data) < 12 or data[:4] not in (b"\x00\x01\x00\x00", b"true"):
            raise FontFormatError("not a TrueType font (no CFF, collections or WOFF)")
        (count,) = struct.unpack_from(">H", data, 4)
        tables: dict[bytes, bytes] = {}
        for index in range(count):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            tables[tag] = data[offset : offset + length]
        missing = [tag.decode() for tag in _REQUIRED if tag not in tables]
        if missing:
            raise FontFormatError(f"font lacks the tables {', '.join(missing)}")
        self._tables = tables
        if name_table is not None:
            self._tables[b"name"] = name_table
        (self.num_glyphs,) = struct.unpack_from(">H", tables[b"maxp"], 4)
        (loca_format,) = struct.unpack_from(">h", tables[b"head"], 50)
        loca = array(
            "I" if loca_format else "H",
            tables[b"loca"][: (self.num_glyphs + 1) * (4 if loca_format else 2)],
        )
        if struct.pack("=H", 1) != struct.pack(">H", 1):
            loca.byteswap()
        scale = 1 if loca_format else 2
        self._offsets = [value * scale for value in loca]
        self._glyf = tables[b"glyf"]
        (metrics_count,) = struct.unpack_from(">H", tables[b"hhea"], 34)
        hmtx = tables[b"hmtx"]
        pairs = struct.unpack_from(f">{2 * metrics_count}h", hmtx)
        self._advances = [pairs[2 * i] & 0xFFFF for i in range(metrics_count)]
        self._lsbs = list(pairs[1::2])
        rest = self.num_glyphs - metrics_count
        self._advances += [self._advances[-1]] * rest
        self._lsbs += list(struct.unpack_from(f">{rest}h", hmtx, 4 * metrics_count))

    def glyph(self, gid: int) -> bytes:
        return self._glyf[self._offsets[gid] : self._offsets[gid + 1]]

    def _maxp_values(self, gid: int, depth: int = 1) -> tuple[int, int, int]:
        """(points, contours, component depth) as fontTools counts them for 'maxp'."""
        glyph = self.glyph(gid)
        if len(glyph) < 10:
            return 0, 0, 0
        (contours,) = struct.unpack_from(">h", glyph, 0)
        if contours > 0:
            (last,) = struct.unpack_from(">H", glyph, 10 + 2 * (contours - 1))
            return last + 1, contours, 0
        points = total = 0
        deepest = depth
        for _, part in _component_refs(glyph):
            part_points, part_contours, part_depth = self._maxp_values(part, depth + 1)
            points += part_points
            total += part_contours
            deepest = max(deepest, part_depth)
        return points, total, deepest

    def subset(self, glyphs: Sequence[int | None], cmap: Mapping[int, int]) -> bytes:
        """The font with new glyph i = old glyph `glyphs[i]` (None: empty), plus composite parts.

        `cmap` maps code points to new glyph ids for the font's own cmap table.
        """
        order: list[int | None] = list(glyphs) or [0]
        if order[0] is None:
            order[0] = 0  # .notdef
        new_id: dict[int, int] = {}
        for position, old in enumerate(order):
            if old is not None:
                if not 0 <= old < self.num_glyphs:
                    raise FontFormatError(f"glyph {old} is not in the font")
                new_id.setdefault(old, position)
        data: list[bytes] = []
        position = 0
        while position < len(order):  # grows while composite parts are appended
            old = order[position]
            glyph = self.glyph(old) if old is not None else b""
            if len(glyph) >= 10 and struct.unpack_from(">h", glyph, 0)[0] < 0:
                patched = bytearray(glyph)
                for at, part in _component_refs(glyph):
                    if part not in new_id:
                        new_id[part] = len(order)
                        order.append(part)
                    struct.pack_into(">H", patched, at, new_id[part])
                glyph = bytes(patched)
            data.append(glyph + b"\0" * (-len(glyph) % 4))
            position += 1

        offsets = [0]
        for glyph in data:
            offsets.append(offsets[-1] + len(glyph))
        short = offsets[-1] <= 0x1FFFE
        loca = struct.pack(f">{len(offsets)}{'H' if short else 'I'}",
                           *((value // 2 if short else value) for value in offsets))  # fmt: skip
        hmtx = b"".join(
            struct.pack(">Hh", self._advances[old], self._lsbs[old]) if old is not None
            else b"\0\0\0\0"
            for old in order
        )  # fmt: skip
        count = len(order)
        head = bytearray(self._tables[b"head"])
        hhea = bytearray(self._tables[b"hhea"])
        maxp = bytearray(self._tables[b"maxp"])
        self._recalc(order, data, head, hhea, maxp)
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 0 if short else 1)
        struct.pack_into(">H", hhea, 34, count)
        struct.pack_into(">H", maxp, 4, count)
        post = b"\x00\x03\x00\x00" + self._tables[b"post"][4:32]
        tables: dict[bytes, bytes] = {
            b"head": bytes(head), b"hhea": bytes(hhea), b"maxp": bytes(maxp), b"hmtx": hmtx,
            b"cmap": _cmap_table(cmap), b"loca": loca, b"glyf": b"".join(data), b"post": post,
        }  # fmt: skip
        for tag in (*_COPIED, b"name"):
            if tag in self._tables:
                tables[tag] = self._tables[tag]
        return _assemble(tables)

    def _recalc(
        self,
        order: list[int | None],
        data: list[bytes],
        head: bytearray,
        hhea: bytearray,
        maxp: bytearray,
    ) -> None:
        """Bounding box, side-bearing extents and maxima of the subset (fontTools' recalc)."""
        boxes: list[tuple[int, int, int, int]] = []
        simple = [0, 0]  # points, contours
        composite = [0, 0, 0, 0]  # points, contours, elements, depth
        all_lsb_are_xmin = True
        min_lsb = min_rsb = max_extent = None
        for old, glyph in zip(order, data, strict=True):
            if old is None or len(glyph) < 10:
                continue
            contours, x_min, y_min, x_max, y_max = struct.unpack_from(">5h", glyph, 0)
            if contours == 0:
                continue
            boxes.append((x_min, y_min, x_max, y_max))
            advance, lsb = self._advances[old], self._lsbs[old]
            all_lsb_are_xmin = all_lsb_are_xmin and lsb == x_min
            rsb, extent = advance - lsb - (x_max - x_min), lsb + (x_max - x_min)
            min_lsb = lsb if min_lsb is None else min(min_lsb, lsb)
            min_rsb = rsb if min_rsb is None else min(min_rsb, rsb)
            max_extent = extent if max_extent is None else max(max_extent, extent)
            points, total, depth = self._maxp_values(old)
            if contours > 0:
                simple = [max(simple[0], points), max(simple[1], total)]
            else:
                elements = len(_component_refs(glyph))
                composite = [max(composite[0], points), max(composite[1], total),
                             max(composite[2], elements), max(composite[3], depth)]  # fmt: skip
        box = (
            (min(b[0] for b in boxes), min(b[1] for b in boxes),
             max(b[2] for b in boxes), max(b[3] for b in boxes))
            if boxes else (0, 0, 0, 0)
        )  # fmt: skip
        struct.pack_into(">4h", head, 36, *box)
        (flags,) = struct.unpack_from(">H", head, 16)
        struct.pack_into(">H", head, 16, flags | 0x2 if all_lsb_are_xmin else flags & ~0x2)
        widest = max((self._advances[old] for old in order if old is not None), default=0)
        struct.pack_into(">H", hhea, 10, widest)
        struct.pack_into(">3h", hhea, 12, min_lsb or 0, min_rsb or 0, max_extent or 0)
        if len(maxp) >= 32:  # version 1.0: TrueType outlines
            struct.pack_into(">4H", maxp, 6, *simple, *composite[:2])
            struct.pack_into(">2H", maxp, 28, *composite[2:])


def _assemble(tables: dict[bytes, bytes]) -> bytes:
    tags = [tag for tag in _WRITE_ORDER if tag in tables]
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1,
                         count * 16 - power * 16)  # fmt: skip
    offset = len(header) + 16 * count
    records: dict[bytes, bytes] = {}
    body: list[bytes] = []
    total = 0
    for tag in tags:
        data = tables[tag]
        checksum = _checksum(data)
        total += checksum
        records[tag] = struct.pack(">4sIII", tag, checksum, offset, len(data))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    directory = header + b"".join(records[tag] for tag in sorted(tags))
    font = bytearray(directory + b"".join(body))
    # Every table is padded to whole words, so the file's checksum is the sum of the parts'.
    head_at = struct.unpack_from(">I", records[b"head"], 8)[0]
    adjustment = (_CHECKSUM_MAGIC - _checksum(directory) - total) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)
