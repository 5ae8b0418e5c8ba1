"""qr_fast makes exactly segno's symbols: same mask choice, same modules, same metadata."""

from __future__ import annotations

import random

import pytest
import segno
from segno import encoder

from postcall import qr_fast
from postcall.girocode import qr_for_payload

ALPHABET = "BCD\n0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz äöüßÄÖÜ€.-/"


def test_segno_is_the_version_whose_internals_we_use() -> None:
    # make_qr(mask=...) skipping the evaluation, and the encoder helpers qr_fast calls.
    assert segno.__version__.startswith("1.6."), "check postcall/qr_fast.py against this segno"
    for name in ("make_matrix", "add_finder_patterns", "add_alignment_patterns",
                 "get_data_mask_functions", "add_format_info", "add_version_info",
                 "evaluate_mask"):  # fmt: skip
        assert callable(getattr(encoder, name)), name


@pytest.mark.parametrize("seed", range(4))
def test_symbols_equal_segnos(seed: int) -> None:
    rng = random.Random(seed)
    masks = set()
    for _ in range(80):
        size = rng.choice((1, 10, 40, 80, 120, 200, 331))
        payload = "".join(rng.choice(ALPHABET) for _ in range(size)).encode()[:331]
        expected = segno.make_qr(payload, error="m", boost_error=False, mode="byte")
        made = qr_fast.make_qr(payload, error="m", mode="byte")
        assert made.matrix == expected.matrix
        assert (made.mask, made.version, made.error, made.mode, made.designator) == (
            expected.mask, expected.version, expected.error, expected.mode, expected.designator
        )  # fmt: skip
        masks.add(made.mask)
    assert len(masks) >= 6  # the choice really varies


def test_penalty_equals_segnos_on_random_matrices() -> None:
    rng = random.Random(7)
    for _ in range(300):
        width = rng.choice((21, 25, 33, 45, 57, 69))
        dark = rng.random()
        matrix = tuple(
            bytearray(1 if rng.random() < dark else 0 for _ in range(width)) for _ in range(width)
        )
        assert qr_fast.penalty(matrix) == encoder.evaluate_mask(matrix, width, width)


def test_girocode_still_checks_and_decodes() -> None:
    payload = "BCD\n002\n1\nSCT\nCOBADEFFXXX\nStadt Musterhausen\nDE89370400440532013000\nEUR1.00"
    assert qr_for_payload(payload).matrix == segno.make_qr(
        payload.encode(), error="m", boost_error=False, mode="byte"
    ).matrix
