"""Plain data for the letters the office sends after a call: fee notice, receipt, print batch.

These dataclasses are what the renderers take. They know nothing of the database: whoever holds a
case fills them (authority and bank details from the office, items from the fee schedule, the
citizen's address from the case). Validation here catches what would make a wrong or unusable
letter (no legal basis, an empty address, money that does not add up); it raises
`DocumentError`, a ValueError, because such data is a configuration or programming fault, not
something a citizen typed.

Money is integer cents throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# The DIN 5008 address zone holds at most six lines at the size we print.
MAX_ADDRESS_LINES = 6


class DocumentError(ValueError):
    """The data cannot make a correct letter."""


def _require_text(value: str, what: str) -> None:
    if not value or not value.strip():
        raise DocumentError(f"{what} must not be empty")


@dataclass(frozen=True, kw_only=True)
class LetterAddress:
    """The recipient as printed in the window: the name first, then street, postcode and town."""

    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.lines) <= MAX_ADDRESS_LINES:
            raise DocumentError(f"an address has 1 to {MAX_ADDRESS_LINES} lines")
        for line in self.lines:
            _require_text(line, "an address line")
            if "\n" in line or "\r" in line:
                raise DocumentError("an address line must be a single line")

    @classmethod
    def of(
        cls,
        name: str,
        street: str = "",
        postal_code: str = "",
        city: str = "",
        *,
        extra: tuple[str, ...] = (),
        country: str = "",
    ) -> LetterAddress:
        """Build the lines from parts; empty parts are left out.

        `extra` goes between the name and the street (c/o, Adresszusatz). `country` is only for
        letters abroad and is printed in capitals on the last line, as the post expects.
        """
        town = " ".join(part for part in (postal_code.strip(), city.strip()) if part)
        lines = [name, *extra, street, town]
        if country.strip():
            lines.append(country.strip().upper())
        return cls(lines=tuple(line.strip() for line in lines if line and line.strip()))

    @property
    def name(self) -> str:
        return self.lines[0]


@dataclass(frozen=True, kw_only=True)
class BankDetails:
    """The authority's account for bank transfers (also the GiroCode's beneficiary)."""

    account_holder: str  # Zahlungsempfänger; at most 70 characters (EPC QR limit)
    iban: str
    bic: str
    bank_name: str

    def __post_init__(self) -> None:
        _require_text(self.account_holder, "the account holder")
        _require_text(self.iban, "the IBAN")
        _require_text(self.bic, "the BIC")
        _require_text(self.bank_name, "the bank name")


EPC_NAME_MAX = 70  # the GiroCode's beneficiary name (EPC069-12)


def short_beneficiary(name: str) -> str:
    """A beneficiary name the GiroCode can carry: at most 70 characters, cut at a word where
    the office has not set a short name of its own (the office form asks for one; this keeps a
    letter from failing when it is due)."""
    name = " ".join(name.split())
    if len(name) <= EPC_NAME_MAX:
        return name
    cut = name[: EPC_NAME_MAX + 1].rsplit(" ", 1)[0]
    return (cut if len(cut) >= EPC_NAME_MAX // 2 else name[:EPC_NAME_MAX]).rstrip(" ,;–-")


@dataclass(frozen=True, kw_only=True)
class LetterStyle:
    """What an office adapts in its letters: logo (SVG or PNG), greeting, closing, signature
    line (``postcall.letter_templates``)."""

    logo: bytes = b""
    logo_type: str = ""  # "image/svg+xml" or "image/png"
    greeting: str = "Guten Tag"
    closing: str = "Mit freundlichen Grüßen"
    signature: str = ""  # under the closing, e.g. "Im Auftrag" / a name and function


@dataclass(frozen=True, kw_only=True)
class Authority:
    """The issuing authority: letterhead, information block, footer and legal-remedy notice.

    `name` is the legal entity that issues the act ("Stadt Musterhausen"); `department` the
    office within it ("Bürgerbüro"). `address_lines` is where objections are lodged.
    `municipality` is the name of the municipality the office belongs to where an installation
    serves several (``tenants``); the letterhead and the return address name it unless `name`
    does already.
    """

    name: str
    department: str = ""
    municipality: str = ""
    address_lines: tuple[str, ...]
    phone: str = ""
    email: str = ""
    website: str = ""
    # Needed by every letter that asks for money; a letter that does not (a rejection notice)
    # may come from an office without bank details.
    bank: BankDetails | None = None
    # Replaces the standard one-month Widerspruch text where Land law differs (e.g. where the
    # objection procedure was abolished and the remedy is an action at the administrative court).
    legal_remedy: str = ""
    # Before the case number in the transfer's remittance text (the GiroCode's too).
    remittance_prefix: str = "Kassenzeichen"
    style: LetterStyle = field(default_factory=LetterStyle)

    def __post_init__(self) -> None:
        _require_text(self.name, "the authority's name")
        if not self.address_lines:
            raise DocumentError("the authority's address is required (legal-remedy notice)")
        for line in self.address_lines:
            _require_text(line, "an address line of the authority")

    @classmethod
    def of(
        cls,
        name: str,
        address: str,
        *,
        iban: str = "",
        bic: str = "",
        bank_name: str = "",
        account_holder: str = "",
        department: str = "",
        phone: str = "",
        email: str = "",
        website: str = "",
        legal_remedy: str = "",
        remittance_prefix: str = "Kassenzeichen",
        style: LetterStyle | None = None,
        municipality: str = "",
    ) -> Authority:
        """From an office's settings: `address` is multi-line text (street, postcode and town).

        The account holder defaults to the authority's name. Without IBAN, BIC and bank name
        the authority has no bank details (letters that ask for a payment refuse it).
        """
        bank = None
        if iban or bic or bank_name:
            bank = BankDetails(
                account_holder=short_beneficiary(account_holder or name),
                iban=iban,
                bic=bic,
                bank_name=bank_name.strip(),
            )
        return cls(
            name=name.strip(),
            department=department.strip(),
            municipality=municipality.strip(),
            address_lines=tuple(line.strip() for line in address.splitlines() if line.strip()),
            phone=phone.strip(),
            email=email.strip(),
            website=website.strip(),
            bank=bank,
            legal_remedy=legal_remedy,
            remittance_prefix=remittance_prefix,
            style=style or LetterStyle(),
        )

    @property
    def named_municipality(self) -> str:
        """The municipality's name where the letter must add it: "" when the authority's own
        name carries it ("Stadt Musterhausen" of the municipality "Musterhausen")."""
        town = self.municipality
        return "" if not town or town.casefold() in self.name.casefold() else town

    @property
    def one_line_address(self) -> str:
        return ", ".join(self.address_lines)

    @property
    def account(self) -> BankDetails:
        """The bank details, for a letter that asks for a payment."""
        if self.bank is None:
            raise DocumentError("the authority's bank details are required for a payment")
        return self.bank


@dataclass(frozen=True, kw_only=True)
class FeeLine:
    """One item from the fee schedule."""

    description: str  # the public service, e.g. "Meldebescheinigung"
    legal_basis: str  # with the fee-schedule item number, e.g. "GebVerz. Nr. 3.1"
    quantity: int = 1
    unit_cents: int

    def __post_init__(self) -> None:
        _require_text(self.description, "a fee item's description")
        _require_text(self.legal_basis, "a fee item's legal basis")
        if self.quantity < 1:
            raise DocumentError("a fee item's quantity must be at least 1")
        if self.unit_cents < 0:
            raise DocumentError("a fee item's amount must not be negative")

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_cents


@dataclass(frozen=True, kw_only=True)
class LetterBase:
    authority: Authority
    recipient: LetterAddress
    case_number: str  # the Kassenzeichen: on the letter and as the payment reference
    issue_date: dt.date
    service: str  # the public service performed (Amtshandlung), in a few words
    service_date: dt.date | None = None  # the day of the video appointment
    lines: tuple[FeeLine, ...] = field(default_factory=tuple)
    appointment_reference: str = ""
    # A request sent online: its reference and the day it was sent ("Ihr Antrag ... vom ...").
    request_reference: str = ""
    request_date: dt.date | None = None
    clerk_name: str = ""  # the contact in the information block; empty: the office

    def __post_init__(self) -> None:
        _require_text(self.case_number, "the case number")
        _require_text(self.service, "the service")

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True, kw_only=True)
class FeeNoticeData(LetterBase):
    """A Gebührenbescheid. `paid_cents` and `corrects` make it a corrected notice after a refund.

    open amount = total − already paid (the GiroCode carries it when positive);
    refund = already paid − total (when positive).
    """

    due_date: dt.date
    paid_cents: int = 0
    corrects: dt.date | None = None  # date of the notice this one replaces ("Geänderter Bescheid")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lines and self.corrects is None:
            raise DocumentError("a fee notice needs at least one fee item")
        if self.paid_cents < 0:
            raise DocumentError("the amount already paid must not be negative")
        if self.due_date < self.issue_date:
            raise DocumentError("the due date must not be before the date of the notice")

    @property
    def open_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)

    @property
    def refund_cents(self) -> int:
        return max(self.paid_cents - self.total_cents, 0)


@dataclass(frozen=True, kw_only=True)
class ReceiptData(LetterBase):
    """A Zahlungsbestätigung (Quittung) for fees paid online: no payment request, no QR code."""

    paid_cents: int
    paid_on: dt.date
    payment_method: str = ""  # as the provider reports it, e.g. "Kartenzahlung", "SEPA-Lastschrift"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.paid_cents <= 0:
            raise DocumentError("a receipt needs a paid amount")


@dataclass(frozen=True, kw_only=True)
class BatchLetter:
    """One letter for the print room: our own data, or a finished PDF (e.g. a certificate)."""

    reference: str  # case number or dispatch id, printed in the manifest
    document: FeeNoticeData | ReceiptData | bytes
    recipient: LetterAddress | None = None  # required for a finished PDF; else the document's
    kind: str = ""  # manifest column; empty: derived from the document

    def __post_init__(self) -> None:
        _require_text(self.reference, "a batch letter's reference")
        if isinstance(self.document, bytes) and self.recipient is None:
            raise DocumentError("a finished PDF in a batch needs its recipient for the manifest")

    @property
    def address(self) -> LetterAddress:
        if self.recipient is not None:
            return self.recipient
        assert not isinstance(self.document, bytes)  # guaranteed by __post_init__
        return self.document.recipient


@dataclass(frozen=True, kw_only=True)
class ManifestEntry:
    """One row of the print batch's CSV manifest."""

    position: int  # 1-based order in the batch
    reference: str
    kind: str
    recipient: LetterAddress
    pages: int  # pages of the letter itself
    first_page: int  # 1-based pages in the batch PDF
    last_page: int  # including a blank back page added for duplex printing
    sheets: int  # paper sheets when printed duplex
