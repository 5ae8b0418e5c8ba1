"""EPC QR code ("GiroCode", EPC069-12 version 002) for paying a fee notice by bank transfer.

The payload is eleven lines separated by LF:

    BCD / 002 / 1 (UTF-8) / SCT / BIC / beneficiary name / IBAN / EUR12.5 /
    purpose code / structured reference (RF...) / unstructured remittance text

A Kassenzeichen is not an ISO 11649 creditor reference, so it travels as the unstructured
remittance text ("Kassenzeichen 2026-000123"); the structured line stays empty.

segno's `segno.helpers.make_epc_qr` encodes the code: error level M without boost, at most
version 13, at most 331 bytes, and always UTF-8 here (character set 1) so the bytes do not depend
on which names happen to fit ISO 8859-1. segno checks only the field lengths, so the IBAN's
checksum, the BIC, the RF reference and control characters are checked here first.
`EpcTransfer.payload` spells out the lines the code carries (the tests decode each code and
compare); the amount is written as segno writes it, without trailing zeros ("EUR12.5", "EUR36"),
which the guideline allows (it asks for "EUR" and EUR0.01 to EUR999999999.99). Amounts come in as
integer cents and reach segno as an exact Decimal: no float ever touches money.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import segno
from segno.helpers import make_epc_qr

EPC_MAX_BYTES = 331
MIN_CENTS = 1
MAX_CENTS = 999_999_999_99

_IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_RF_RE = re.compile(r"^RF[0-9]{2}[A-Z0-9]{1,21}$")
_PURPOSE_RE = re.compile(r"^[A-Z]{4}$")

# IBAN lengths of the SEPA countries a German town is likely to bank with; other countries are
# checked by format and checksum only.
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "IE": 22, "IT": 27, "LI": 21, "LU": 20, "NL": 18, "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip


class EpcError(ValueError):
    """The payment data cannot make a valid EPC QR code."""


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters (A=10 … Z=35) and digits, as IBAN and RF use it."""
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def normalize_iban(iban: str) -> str:
    """Return the IBAN without spaces in capitals, or raise EpcError if it is not valid."""
    compact = re.sub(r"\s+", "", iban).upper()
    if not _IBAN_RE.match(compact):
        raise EpcError("the IBAN is malformed")
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        raise EpcError(f"a {compact[:2]} IBAN has {expected} characters")
    if _mod97(compact[4:] + compact[:4]) != 1:
        raise EpcError("the IBAN's check digits are wrong")
    return compact


def group_iban(iban: str) -> str:
    """The IBAN in groups of four, as DIN 5008 prints it."""
    compact = normalize_iban(iban)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalize_bic(bic: str) -> str:
    """Return the BIC (8 or 11 characters) in capitals, or raise EpcError."""
    compact = re.sub(r"\s+", "", bic).upper()
    if not _BIC_RE.match(compact):
        raise EpcError("the BIC is malformed")
    return compact


def format_epc_amount(amount_cents: int) -> str:
    """12.50 € as "EUR12.5", 36.00 € as "EUR36" (as segno writes it): integer arithmetic only."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise EpcError("the amount must be integer cents")
    if not MIN_CENTS <= amount_cents <= MAX_CENTS:
        raise EpcError("the amount must be between EUR0.01 and EUR999999999.99")
    euros, cents = divmod(amount_cents, 100)
    if not cents:
        return f"EUR{euros}"
    return f"EUR{euros}.{cents:02d}".rstrip("0")


REMITTANCE_MAX = 140


def remittance_text(case_number: str, prefix: str = "Kassenzeichen") -> str:
    """The unstructured remittance text that carries the Kassenzeichen (after the office's
    prefix, checked to fit 140 characters when the office saves it)."""
    return " ".join(part for part in (" ".join(prefix.split()), case_number.strip()) if part)


def _check_field(value: str, what: str, max_chars: int) -> str:
    value = value.strip()
    if len(value) > max_chars:
        raise EpcError(f"the {what} has more than {max_chars} characters")
    # A line break would shift every later field; other control characters confuse scanners.
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise EpcError(f"the {what} contains control characters")
    return value


@dataclass(frozen=True)
class EpcTransfer:
    """A checked credit transfer: what the GiroCode carries."""

    name: str
    iban: str
    bic: str  # empty: left out (optional within the EEA since version 002)
    amount_cents: int
    text: str  # unstructured remittance; exactly one of text and reference is set
    reference: str  # ISO 11649 creditor reference "RF…"
    purpose: str

    @property
    def payload(self) -> str:
        """The EPC069-12 payload as text (the QR code carries it as UTF-8)."""
        lines = [
            "BCD", "002", "1", "SCT", self.bic, self.name, self.iban,
            format_epc_amount(self.amount_cents), self.purpose, self.reference,
        ]  # fmt: skip
        if self.text:
            lines.append(self.text)
        return "\n".join(lines)

    def qr(self) -> segno.QRCode:
        """The GiroCode: level M, at most version 13, the payload in UTF-8."""
        try:
            qr = make_epc_qr(
                name=self.name,
                iban=self.iban,
                amount=Decimal(self.amount_cents).scaleb(-2),  # exact: 1250 → 12.50
                text=self.text or None,
                reference=self.reference or None,
                bic=self.bic or None,
                purpose=self.purpose or None,
                encoding=1,
            )
        except ValueError as exc:  # segno's own length checks; ours run first
            raise EpcError(str(exc)) from exc
        return qr


def epc_transfer(
    name: str,
    iban: str,
    bic: str | None,
    amount_cents: int,
    *,
    text: str = "",
    reference: str = "",
    purpose: str = "",
) -> EpcTransfer:
    """Check and normalise a transfer for a GiroCode, or raise EpcError.

    Exactly one of `text` (unstructured remittance, at most 140 characters) and `reference`
    (ISO 11649 creditor reference "RF…") must be given. `bic` may be empty (optional within the
    EEA since version 002) but is validated when present.
    """
    name = _check_field(name, "beneficiary name", 70)
    if not name:
        raise EpcError("the beneficiary name is required")
    iban = normalize_iban(iban)
    bic = normalize_bic(bic) if bic and bic.strip() else ""
    format_epc_amount(amount_cents)  # range and type
    purpose = purpose.strip().upper()
    if purpose and not _PURPOSE_RE.match(purpose):
        raise EpcError("the purpose code has four letters")
    text = _check_field(text, "remittance text", 140)
    reference = re.sub(r"\s+", "", reference).upper()
    if bool(text) == bool(reference):
        raise EpcError("give either a remittance text or a creditor reference, not both")
    if reference and not (_RF_RE.match(reference) and _mod97(reference[4:] + reference[:4]) == 1):
        raise EpcError("the creditor reference is not a valid ISO 11649 reference")
    transfer = EpcTransfer(name, iban, bic, amount_cents, text, reference, purpose)
    if len(transfer.payload.encode("utf-8")) > EPC_MAX_BYTES:
        raise EpcError(f"the payload exceeds {EPC_MAX_BYTES} bytes")
    return transfer

