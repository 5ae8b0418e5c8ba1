"""EPC QR (GiroCode) payload rules from EPC069-12 and a real decode of the generated symbol."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
import segno.helpers

from postcall.girocode import (
    EPC_MAX_BYTES,
    EpcError,
    epc_transfer,
    format_epc_amount,
    group_iban,
    normalize_bic,
    normalize_iban,
    remittance_text,
)
from tests.postcall.fee_support import BIC, IBAN, decode_png, need

# Beneficiary names and remittance texts as towns and citizens write them.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz äöüßÄÖÜ€.-/"


def test_payload_lines_match_epc069_12() -> None:
    payload = epc_transfer(
        "Stadt Musterhausen Stadtkasse",
        "de89 3704 0044 0532 0130 00",
        "cobadeffxxx",
        1250,
        text=remittance_text("2026-000123"),
    ).payload
    # Assembled independently, line by line, from the guideline.
    expected = (
        "BCD\n"  # service tag
        "002\n"  # version
        "1\n"  # character set: UTF-8
        "SCT\n"  # SEPA credit transfer
        "COBADEFFXXX\n"
        "Stadt Musterhausen Stadtkasse\n"
        "DE89370400440532013000\n"
        "EUR12.5\n"  # as segno writes it; the guideline's own examples drop trailing zeros
        "\n"  # purpose code: none
        "\n"  # structured reference: none (a Kassenzeichen is not an RF reference)
        "Kassenzeichen 2026-000123"
    )
    assert payload == expected


@pytest.mark.parametrize(
    ("cents", "text"),
    [(1, "EUR0.01"), (10, "EUR0.1"), (100, "EUR1"), (1250, "EUR12.5"), (1205, "EUR12.05"),
     (3600, "EUR36"), (123456, "EUR1234.56"), (99999999999, "EUR999999999.99")],
)  # fmt: skip
def test_amount_from_integer_cents(cents: int, text: str) -> None:
    assert format_epc_amount(cents) == text


@pytest.mark.parametrize("bad", [0, -1, 100000000000, 12.5, True, "1250"])
def test_amount_out_of_range_or_not_cents(bad: object) -> None:
    with pytest.raises(EpcError):
        format_epc_amount(bad)  # type: ignore[arg-type]
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, bad, text="x")  # type: ignore[arg-type]


def test_iban_is_normalised_and_checked() -> None:
    assert normalize_iban(" de89 3704 0044 0532 0130 00 ") == IBAN
    assert group_iban(IBAN) == "DE89 3704 0044 0532 0130 00"
    assert normalize_iban("AT611904300234573201") == "AT611904300234573201"
    with pytest.raises(EpcError, match="check digits"):
        normalize_iban("DE88370400440532013000")
    with pytest.raises(EpcError, match="22 characters"):
        normalize_iban("DE8937040044053201300")
    for bad in ("", "DE", "1234567890123456", "DE89-3704-0044"):
        with pytest.raises(EpcError):
            normalize_iban(bad)


def test_bic_format() -> None:
    assert normalize_bic("cobadeff") == "COBADEFF"
    assert normalize_bic("COBA DEFF XXX") == "COBADEFFXXX"
    for bad in ("COBADE", "COBADEFFX", "1OBADEFF", "COBA-DEFF"):
        with pytest.raises(EpcError):
            normalize_bic(bad)


def test_bic_may_be_left_out_but_not_wrong() -> None:
    assert epc_transfer("Stadt", IBAN, "", 100, text="x").payload.split("\n")[4] == ""
    assert epc_transfer("Stadt", IBAN, None, 100, text="x").payload.split("\n")[4] == ""
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, "NOPE", 100, text="x")


def test_exactly_one_kind_of_remittance() -> None:
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100)
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100, text="x", reference="RF18539007547034")
    # ISO 11649's own example: it fills line 10, and the text line is left out.
    transfer = epc_transfer("Stadt", IBAN, BIC, 100, reference="RF18 5390 0754 7034")
    lines = transfer.payload.split("\n")
    assert lines[9:] == ["RF18539007547034"]
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100, reference="RF19539007547034")


def test_purpose_code() -> None:
    transfer = epc_transfer("Stadt", IBAN, BIC, 100, text="x", purpose="govt")
    assert transfer.payload.split("\n")[8] == "GOVT"
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100, text="x", purpose="GOV")


def test_field_lengths_and_line_breaks() -> None:
    assert epc_transfer("S" * 70, IBAN, BIC, 100, text="t" * 140).payload
    with pytest.raises(EpcError):
        epc_transfer("S" * 71, IBAN, BIC, 100, text="x")
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100, text="t" * 141)
    with pytest.raises(EpcError):
        epc_transfer("", IBAN, BIC, 100, text="x")
    # A line break inside a field would shift IBAN into the amount's place.
    with pytest.raises(EpcError):
        epc_transfer("Stadt\nDE00", IBAN, BIC, 100, text="x")
    with pytest.raises(EpcError):
        epc_transfer("Stadt", IBAN, BIC, 100, text="Kassenzeichen\r1")


def test_utf8_is_kept_and_the_byte_limit_holds() -> None:
    payload = epc_transfer("Bürgerbüro Weißenfels", IBAN, BIC, 100, text="Gebühr").payload
    assert payload.split("\n")[2] == "1"
    assert "Bürgerbüro Weißenfels" in payload
    # 70 + 140 three-byte characters fit the character limits but not the 331 bytes.
    with pytest.raises(EpcError, match=str(EPC_MAX_BYTES)):
        epc_transfer("€" * 70, IBAN, BIC, 100, text="€" * 140)


def test_qr_is_level_m_and_decodes_to_the_exact_payload(tmp_path: Path) -> None:
    need("zbarimg")
    args = ("Bürgerbüro Musterhausen", IBAN, BIC, 2795)
    qr = epc_transfer(*args, text=remittance_text("2026-000123")).qr()
    assert qr.error == "M"  # EPC069-12 fixes level M; no boosting
    assert isinstance(qr.version, int) and qr.version <= 13
    png = tmp_path / "qr.png"
    qr.save(str(png), scale=6)
    expected = (
        "BCD\n002\n1\nSCT\nCOBADEFFXXX\nBürgerbüro Musterhausen\nDE89370400440532013000\n"
        "EUR27.95\n\n\nKassenzeichen 2026-000123"
    )
    assert decode_png(png) == [expected]
    assert expected == epc_transfer(*args, text="Kassenzeichen 2026-000123").payload


def save_png(qr: segno.QRCode, tmp_path: Path, name: str = "qr.png") -> Path:
    png = tmp_path / name
    qr.save(str(png), scale=6)
    return png


@pytest.mark.parametrize("cents", [1, 10, 100, 1250, 3600, 99999999999])
def test_the_code_carries_the_amount_as_the_payload_spells_it(cents: int, tmp_path: Path) -> None:
    need("zbarimg")
    args = ("Stadt Musterhausen Stadtkasse", IBAN, BIC, cents)
    transfer = epc_transfer(*args, text="Kassenzeichen 2026-000123")
    [decoded] = decode_png(save_png(transfer.qr(), tmp_path))
    assert decoded == transfer.payload
    assert decoded.split("\n")[7] == format_epc_amount(cents)


@pytest.mark.parametrize("seed", range(3))
def test_random_transfers_decode_to_their_payload(seed: int, tmp_path: Path) -> None:
    need("zbarimg")
    rng = random.Random(seed)
    versions = set()
    for number in range(6):
        name = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 70))).strip() or "S"
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 140))).strip() or "T"
        bic = rng.choice((BIC, ""))
        cents = rng.randint(1, 10**7)
        # The eleven lines, assembled here from the guideline.
        expected = "\n".join(("BCD", "002", "1", "SCT", bic, name, IBAN,
                              format_epc_amount(cents), "", "", text))  # fmt: skip
        if len(expected.encode()) > EPC_MAX_BYTES:  # many "€" and umlauts
            with pytest.raises(EpcError, match=str(EPC_MAX_BYTES)):
                epc_transfer(name, IBAN, bic, cents, text=text)
            continue
        qr = epc_transfer(name, IBAN, bic, cents, text=text).qr()
        versions.add(qr.version)
        assert qr.error == "M" and isinstance(qr.version, int) and qr.version <= 13
        assert decode_png(save_png(qr, tmp_path, f"{seed}-{number}.png")) == [expected]
    assert len(versions) >= 2  # payloads of different lengths, so symbols of different sizes


def test_the_code_is_segnos_epc_code() -> None:
    transfer = epc_transfer("Bürgerbüro Musterhausen", IBAN, BIC, 2795,
                            text=remittance_text("2026-000123"))  # fmt: skip
    expected = segno.helpers.make_epc_qr(
        "Bürgerbüro Musterhausen", IBAN, Decimal("27.95"), text="Kassenzeichen 2026-000123",
        bic=BIC, encoding="utf-8",
    )
    made = transfer.qr()
    assert made.matrix == expected.matrix
    assert (made.version, made.error, made.mode) == (expected.version, "M", "byte")


def test_the_largest_payload_still_fits_version_13(tmp_path: Path) -> None:
    need("zbarimg")
    # 70 + 140 characters, the last few of them two bytes long: exactly 331 bytes in UTF-8.
    name = "S" * 70
    lines = ["BCD", "002", "1", "SCT", BIC, name, IBAN, "EUR999999999.99", "", ""]
    room = EPC_MAX_BYTES - len("\n".join([*lines, ""]).encode())
    text = "t" * (room - 2 * (room - 140)) + "ä" * (room - 140)
    assert len(text) == 140
    transfer = epc_transfer(name, IBAN, BIC, 99999999999, text=text)
    assert len(transfer.payload.encode()) == EPC_MAX_BYTES
    qr = transfer.qr()
    assert isinstance(qr.version, int) and qr.version <= 13 and qr.error == "M"
    assert decode_png(save_png(qr, tmp_path)) == [transfer.payload]
    with pytest.raises(EpcError, match=str(EPC_MAX_BYTES)):
        epc_transfer(name, IBAN, BIC, 99999999999, text=text[:-1] + "€")
