"""segno's QR codes, with segno's choice of data mask made in a fraction of its time.

segno picks the mask by applying each of the eight patterns and scoring the result (ISO/IEC 18004
7.8.3) in per-module Python loops: three quarters of a GiroCode's 6 ms. Here segno encodes once
with mask 0 (no evaluation), the unmasked symbol is recovered from it, and the eight candidates
are scored on whole rows and columns at once: XOR on integers holding one module per byte, regular
expressions for runs and blocks, `bytes.find` for the finder-like pattern. The scores are segno's
own, rule for rule (including how its N3 search resumes after a match), so the chosen mask and so
every module are those `segno.make_qr` gives; tests/postcall/test_qr_fast.py checks that against
segno on random payloads and random matrices.

Uses segno.encoder's matrix helpers (make_matrix, add_finder_patterns, add_alignment_patterns,
get_data_mask_functions, add_format_info, add_version_info); pyproject.toml pins segno's minor
version.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import segno
from segno import encoder as _encoder

encoder: Any = _encoder  # untyped

_FINDER = b"\x01\x00\x01\x01\x01\x00\x01"  # N3: dark light dark dark dark light dark
_SEPARATOR = b"\x04"  # between rows: never a module, never matches the patterns above
_MAX_SCORE = 10**9


def _lines(matrix: tuple[bytearray, ...] | list[tuple[int, ...]]) -> bytes:
    return _SEPARATOR.join(bytes(line) for line in matrix) + _SEPARATOR


@cache
def _template(width: int) -> tuple[bytes, bytes]:
    """Function patterns and reserved areas as segno has them while scoring; 0x02 = data."""
    matrix = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(matrix, width, width)
    encoder.add_alignment_patterns(matrix, width, width)
    return _lines(matrix), _lines(list(zip(*matrix, strict=True)))


@cache
def _fixed(width: int) -> tuple[int, int, int, int]:
    """(data region, everything else) as integers over rows, then over columns."""
    result: list[int] = []
    for lines in _template(width):
        result.append(int.from_bytes(bytes(0xFF if value == 2 else 0 for value in lines)))
        result.append(int.from_bytes(bytes(0 if value == 2 else value for value in lines)))
    return result[0], result[1], result[2], result[3]


@cache
def _patterns(width: int) -> tuple[tuple[int, int], ...]:
    """Per mask: its dark modules inside the data region, as (rows, columns) integers."""
    rows, cols = _template(width)
    result = []
    for mask in encoder.get_data_mask_functions(False):
        row_bits = bytearray(len(rows))
        col_bits = bytearray(len(cols))
        for i in range(width):
            for j in range(width):
                if rows[i * (width + 1) + j] == 0x2 and mask(i, j):
                    row_bits[i * (width + 1) + j] = 1
                    col_bits[j * (width + 1) + i] = 1
        result.append((int.from_bytes(row_bits), int.from_bytes(col_bits)))
    return tuple(result)


def _n3(lines: bytes, width: int) -> int:
    """segno's N3 over separated lines: 40 per 1:1:3:1:1 pattern with light space beside it."""
    score = 0
    stride = width + 1
    idx = lines.find(_FINDER)
    while idx != -1:
        start = idx - idx % stride
        local = idx % stride
        offset = idx + 7
        before = lines[start + max(local - 4, 0) : start + min(local, width)]
        after = lines[start + min(local + 7, width) : start + min(local + 11, width)]
        if local in (0, width - 7) or b"\x01" not in before or b"\x01" not in after:
            score += 40
        else:
            offset = idx + 4
        idx = lines.find(_FINDER, offset)
    return score


@cache
def _ones(size: int) -> int:
    """0x01 in every byte of an integer of `size` bytes."""
    return int.from_bytes(b"\x01" * size)


def _same_as_next(lines: int, size: int) -> int:
    """1 in each byte whose module equals the next byte's (modules 0/1, separators 4)."""
    ones = _ones(size)
    diff = lines ^ (lines << 8)  # byte p: module p XOR module p + 1 (big-endian)
    return ((diff | (diff >> 2)) & ones) ^ ones  # XOR values are 0, 1, 4 or 5: zero ⇔ equal


def _runs(lines: int, size: int) -> int:
    """segno's N1: each run of five or more equal modules scores its length minus two."""
    same = _same_as_next(lines, size)
    five = same & (same << 8) & (same << 16) & (same << 24)  # byte p starts 5 equal modules
    starts = five & ~(five >> 8)  # ... and module p - 1 is not part of that run
    # A run of n >= 5 holds n - 4 windows of five; n - 2 = windows + 2.
    return five.bit_count() + 2 * starts.bit_count()


def _penalty(row_int: int, col_int: int, width: int) -> int:
    """segno.encoder.evaluate_mask, from the separated rows and columns as integers."""
    stride = width + 1
    size = width * stride
    n1 = _runs(row_int, size) + _runs(col_int, size)
    # N2: 2×2 blocks of one colour: each row against the row below it (shifted onto it).
    below = row_int << (8 * stride) & ((1 << (8 * size)) - 1)
    ones = _ones(size)
    diff = row_int ^ below
    same_vertical = ((diff | (diff >> 2)) & ones) ^ ones
    blocks = _same_as_next(row_int, size) & _same_as_next(below, size) & same_vertical
    n2 = 3 * (blocks & _rows_but_last(width)).bit_count()
    n3 = _n3(row_int.to_bytes(size), width) + _n3(col_int.to_bytes(size), width)
    dark = row_int.bit_count() - width  # modules are 0/1; each separator (4) is one bit
    percent = float(dark) / (width**2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def penalty(matrix: tuple[bytearray, ...]) -> int:
    """segno.encoder.evaluate_mask(matrix, n, n) for a square matrix of 0/1 modules."""
    width = len(matrix)
    rows = int.from_bytes(_lines(matrix))
    cols = int.from_bytes(_lines(list(zip(*matrix, strict=True))))
    return _penalty(rows, cols, width)


@cache
def _rows_but_last(width: int) -> int:
    """0x01 on the modules of every row but the last (a block needs the row below)."""
    stride = width + 1
    return int.from_bytes((b"\x01" * width + b"\x00") * (width - 1) + b"\x00" * stride)


def make_qr(data: bytes, *, error: str, mode: str) -> segno.QRCode:
    """`segno.make_qr(data, error=error, boost_error=False, mode=mode)`, faster."""
    first = segno.make_qr(data, error=error, boost_error=False, mode=mode, mask=0)
    width = len(first.matrix)
    if not isinstance(first.version, int):  # Micro QR: scored differently, left to segno
        return segno.make_qr(data, error=error, boost_error=False, mode=mode)
    stride = width + 1
    size = width * stride
    row_data, row_fixed, col_data, col_fixed = _fixed(width)
    patterns = _patterns(width)
    # The symbol as segno scores it: data modules from the encoded symbol, everything else
    # (format and version areas still empty) from the template; then without mask 0.
    plain_rows = (int.from_bytes(_lines(first.matrix)) & row_data | row_fixed) ^ patterns[0][0]
    columns = list(zip(*first.matrix, strict=True))
    plain_cols = (int.from_bytes(_lines(columns)) & col_data | col_fixed) ^ patterns[0][1]
    best, best_score, best_rows = 0, _MAX_SCORE, 0
    for mask, (row_bits, col_bits) in enumerate(patterns):
        masked_rows = plain_rows ^ row_bits
        score = _penalty(masked_rows, plain_cols ^ col_bits, width)
        if score < best_score:  # the first of equal scores, as segno
            best, best_score, best_rows = mask, score, masked_rows
    if best == 0:
        return first
    lines = best_rows.to_bytes(size)
    matrix = tuple(bytearray(lines[i * stride : i * stride + width]) for i in range(width))
    encoder.add_format_info(matrix, first._version, first._error, best)
    encoder.add_version_info(matrix, first._version)
    chosen = copy.copy(first)
    chosen.matrix = matrix
    chosen.mask = best
    return chosen
