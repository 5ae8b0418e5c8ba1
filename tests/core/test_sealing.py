"""Sealed bytes (``core/sealing.py``): they open only under their key, purpose and context, a
changed or cut value does not open, and the stored form shows nothing of the data."""

from __future__ import annotations

import pytest

from core.sealing import OVERHEAD, seal, unseal

KEY = b"k" * 32
PURPOSE = b"test-purpose"
DATA = b"%PDF-1.4 Meldebescheinigung Erika Mustermann, Hauptstrasse 1\n" * 20


def test_a_sealed_value_opens_with_its_key_purpose_and_context() -> None:
    sealed = seal(KEY, PURPOSE, DATA, aad=b"case:7")
    assert len(sealed) == len(DATA) + OVERHEAD
    assert unseal(KEY, PURPOSE, sealed, aad=b"case:7") == DATA
    assert unseal(b"x" * 32, PURPOSE, sealed, aad=b"case:7") is None  # another key
    assert unseal(KEY, b"other-purpose", sealed, aad=b"case:7") is None
    assert unseal(KEY, PURPOSE, sealed, aad=b"case:8") is None  # copied to another request
    assert unseal(KEY, PURPOSE, sealed) is None


def test_empty_data_and_the_default_context() -> None:
    assert unseal(KEY, PURPOSE, seal(KEY, PURPOSE, b"")) == b""
    assert unseal(KEY, PURPOSE, seal(KEY, PURPOSE, DATA)) == DATA


@pytest.mark.parametrize("where", [0, 5, 12, 40, -1])
def test_a_changed_byte_anywhere_is_refused(where: int) -> None:
    sealed = bytearray(seal(KEY, PURPOSE, DATA))
    sealed[where] ^= 0x01
    assert unseal(KEY, PURPOSE, bytes(sealed)) is None


def test_cut_or_extended_values_are_refused() -> None:
    sealed = seal(KEY, PURPOSE, DATA)
    for damaged in (sealed[:-1], sealed[:OVERHEAD - 1], sealed[:12], b"", sealed + b"\x00"):
        assert unseal(KEY, PURPOSE, damaged) is None


def test_the_stored_bytes_show_nothing_of_the_data() -> None:
    sealed = seal(KEY, PURPOSE, DATA)
    for piece in (b"%PDF", b"Mustermann", b"Hauptstrasse", DATA[:8]):
        assert piece not in sealed
    # A fresh nonce each time: the same data never seals to the same bytes.
    assert seal(KEY, PURPOSE, DATA) != sealed
