"""Signed values (``core/signing.py``): bound to their purpose and key, expiring, tamper-proof."""

from __future__ import annotations

from core.signing import sign, signature, signature_valid, unsign

KEY = b"k" * 32


def test_signed_values_round_trip_and_refuse_tampering() -> None:
    signed = sign(KEY, "booked", "BB-ABCD-EFGH", now=1000)
    assert unsign(KEY, "booked", signed, 60, now=1059) == "BB-ABCD-EFGH"
    assert unsign(KEY, "booked", signed, 60, now=1061) is None  # expired
    assert unsign(KEY, "other", signed, 60, now=1000) is None  # another purpose
    assert unsign(b"x" * 32, "booked", signed, 60, now=1000) is None  # another key
    payload, timestamp, mac = signed.split(".")
    later = sign(KEY, "booked", "BB-ABCD-EFGH", now=1999).split(".")[1]
    assert later != timestamp
    assert unsign(KEY, "booked", f"{payload}.{later}.{mac}", 60, now=2000) is None  # moved time
    other = sign(KEY, "booked", "BB-ZZZZ-ZZZZ", now=1000).split(".")[0]
    assert unsign(KEY, "booked", f"{other}.{timestamp}.{mac}", 60, now=1000) is None
    for junk in (None, "", "a.b", "a.b.c.d", "...", "%%%.1.x", "äöü.ä.ö"):
        assert unsign(KEY, "booked", junk, 60, now=1000) is None


def test_signatures_are_bound_to_value_purpose_and_key() -> None:
    given = signature(KEY, "csrf", "cookie\x00session")
    assert signature_valid(KEY, "csrf", "cookie\x00session", given)
    assert not signature_valid(KEY, "csrf", "cookie\x00other", given)
    assert not signature_valid(KEY, "other", "cookie\x00session", given)
    assert not signature_valid(b"x" * 32, "csrf", "cookie\x00session", given)
    for junk in (given[:-1], "", None, "äöü", 42):
        assert not signature_valid(KEY, "csrf", "cookie\x00session", junk)
