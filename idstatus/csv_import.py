"""The passport software's CSV export, uploaded by a clerk: which column holds the document
type, the number, the status and the date, and which words mean which status, are the office's
own mapping (set by an admin, ``document_status_import``). Lines that can be read are stored,
each other line is reported with its number and what was wrong; the numbers never appear in a
report.

The file is read as UTF-8 (with or without byte order mark) or else as Windows-1252, which
German office software still writes; the separator is whichever of ``;``, ``,`` and tab the
first line uses most. Columns are named by their heading (case ignored) or by their number
(``1`` is the first). Dates without a time zone are the office's wall-clock time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Office
from core.audit import Actor, record
from core.errors import Invalid, NotFound
from core.types import utcnow, within_calendar
from idstatus.models import DocumentState, DocumentStatusImport, DocumentType
from idstatus.serials import SerialKeys, normalize_serial
from idstatus.service import FUTURE_SLACK, Report, parse_time, store

MAX_BYTES = 2 * 1024 * 1024  # the upload, with the form around it
MAX_LINES = 20_000
COLUMN_MAX = 100  # characters of a column's name
DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y-%m-%d")

DEFAULT_TYPES = {"Personalausweis": "id_card", "Reisepass": "passport"}
DEFAULT_STATUSES = {"In Produktion": "in_production", "Versandt": "shipped",
                    "Abholbereit": "ready", "Ausgehändigt": "collected"}


@dataclass(frozen=True)
class Mapping:
    type_column: str = "Dokumentart"
    serial_column: str = "Seriennummer"
    status_column: str = "Status"
    date_column: str = "Datum"  # empty: the time of the upload
    types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPES))
    statuses: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUSES))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        """A stored mapping; what cannot be read falls back to the defaults."""
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        default = cls()
        if not isinstance(data, dict):
            data = {}

        def text_of(name: str) -> str:
            value = data.get(name)
            return value if isinstance(value, str) else str(getattr(default, name))

        def pairs(name: str, allowed: type[DocumentType] | type[DocumentState]) -> dict[str, str]:
            value = data.get(name)
            if not isinstance(value, dict):
                return dict(getattr(default, name))
            return {str(k): v for k, v in value.items() if v in allowed.__members__}

        return cls(text_of("type_column"), text_of("serial_column"), text_of("status_column"),
                   text_of("date_column"), pairs("types", DocumentType),
                   pairs("statuses", DocumentState))


def parse_pairs(text: str, allowed: type[DocumentType] | type[DocumentState], field_name: str,
                error: Invalid) -> dict[str, str]:
    """Lines ``Abholbereit = ready`` as a dict; a wrong line is added to ``error``."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        word, sep, code = line.rpartition("=")
        word, code = word.strip(), code.strip()
        if not sep or not word or len(word) > COLUMN_MAX or code not in allowed.__members__:
            error.add(field_name, "Line %(line)s: write a word, an equals sign and one of "
                      "%(codes)s.", line=number, codes=", ".join(allowed.__members__))
            continue
        pairs[word] = code
    return pairs


def check_mapping(values: dict[str, str]) -> Mapping:
    """The admin form's fields as a mapping; ``Invalid`` with every problem."""
    error = Invalid("Please correct the marked fields.")
    columns = {}
    for name in ("type_column", "serial_column", "status_column", "date_column"):
        value = values.get(name, "").strip()
        if (not value and name != "date_column") or len(value) > COLUMN_MAX:
            error.add(name, "Please enter the column's heading or number.")
        columns[name] = value
    types = parse_pairs(values.get("types", ""), DocumentType, "types", error)
    statuses = parse_pairs(values.get("statuses", ""), DocumentState, "statuses", error)
    if error.problems:
        raise error
    return Mapping(**columns, types=types, statuses=statuses)


async def load_mapping(session: AsyncSession, office_id: int) -> Mapping:
    row = await session.get(DocumentStatusImport, office_id)
    return Mapping.from_json(row.mapping) if row is not None else Mapping()


async def save_mapping(session: AsyncSession, office_id: int, mapping: Mapping, *,
                       actor: Actor) -> None:
    if await session.get(Office, office_id) is None:
        raise NotFound("This office does not exist.")
    row = await session.get(DocumentStatusImport, office_id)
    if row is None:
        row = DocumentStatusImport(office_id=office_id)
        session.add(row)
    row.mapping = mapping.to_json()
    row.updated_at = utcnow()
    record(session, actor, "document_status.mapping", "office", office_id, {})


# --- reading a file --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    line: int  # in the file, the heading is line 1
    column: str  # the mapping's name of the column concerned
    msgid: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Imported:
    accepted: int
    errors: list[LineError]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _separator(first_line: str) -> str:
    return max(";,\t", key=lambda sep: (first_line.count(sep), sep == ";"))


def _column(heading: list[str], wanted: str) -> int | None:
    if wanted.isdigit():
        number = int(wanted)
        return number - 1 if 1 <= number <= len(heading) else None
    names = [h.strip().strip('"').casefold() for h in heading]
    try:
        return names.index(wanted.strip().casefold())
    except ValueError:
        return None


def _lookup(words: dict[str, str], allowed: type[DocumentType] | type[DocumentState],
            value: str) -> str | None:
    value = value.strip()
    if value in allowed.__members__:
        return value
    folded = {word.casefold(): code for word, code in words.items()}
    return folded.get(value.casefold())


def parse_date(value: str, zone: ZoneInfo) -> dt.datetime | None:
    value = value.strip()
    aware = parse_time(value)
    if aware is not None:
        return aware
    for pattern in DATE_FORMATS:
        try:
            naive = dt.datetime.strptime(value, pattern)
            within_calendar(naive.date())
        except ValueError:
            continue
        return naive.replace(tzinfo=zone).astimezone(dt.UTC)
    return None


def read_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_separator(first)))
    except csv.Error as exc:
        raise Invalid("The file could not be read as CSV.", field="file") from exc
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise Invalid("The file is empty.", field="file")
    if len(rows) > MAX_LINES + 1:
        raise Invalid("The file has more than %(max)s lines.", field="file", max=MAX_LINES)
    return rows


def parse(keys: SerialKeys, data: bytes, mapping: Mapping, zone: ZoneInfo,
          now: dt.datetime) -> tuple[list[Report], list[LineError]]:
    rows = read_rows(data)
    heading = rows[0]
    columns: dict[str, int | None] = {}
    for name in ("type_column", "serial_column", "status_column", "date_column"):
        wanted = getattr(mapping, name)
        if name == "date_column" and not wanted:
            columns[name] = None
            continue
        columns[name] = _column(heading, wanted)
        if columns[name] is None:
            raise Invalid("The column %(column)s is missing in the first line.",
                          field="file", column=wanted)
    reports: list[Report] = []
    errors: list[LineError] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        report = _line(keys, row, number, columns, mapping, zone, now, errors)
        if report is not None:
            reports.append(report)
    return reports, errors


def _line(keys: SerialKeys, row: list[str], number: int, columns: dict[str, int | None],
          mapping: Mapping, zone: ZoneInfo, now: dt.datetime,
          errors: list[LineError]) -> Report | None:
    def cell(name: str) -> str:
        index = columns[name]
        return row[index] if index is not None and index < len(row) else ""

    before = len(errors)
    kind = _lookup(mapping.types, DocumentType, cell("type_column"))
    if kind is None:
        errors.append(LineError(number, "type_column", "Unknown document type."))
    status = _lookup(mapping.statuses, DocumentState, cell("status_column"))
    if status is None:
        errors.append(LineError(number, "status_column", "Unknown status."))
    serial = ""
    try:
        serial = normalize_serial(cell("serial_column"))
    except Invalid:
        errors.append(LineError(number, "serial_column",
                                "Not a document number (9 characters: digits and C F G H J K "
                                "L M N P R T V W X Y Z)."))
    at: dt.datetime | None = now
    if columns["date_column"] is not None and cell("date_column").strip():
        at = parse_date(cell("date_column"), zone)
        if at is None:
            errors.append(LineError(number, "date_column",
                                    "Not a date (for example 23.11.2026 or 23.11.2026 09:30)."))
        elif at > now + FUTURE_SLACK:
            errors.append(LineError(number, "date_column", "This time lies in the future."))
    if len(errors) > before or kind is None or status is None or at is None:
        return None
    return Report(kind, keys.hash(serial), status, at)


async def import_csv(session: AsyncSession, keys: SerialKeys, office_id: int, data: bytes, *,
                     actor: Actor, now: dt.datetime | None = None) -> Imported:
    """Store the readable lines of an export for ``office_id``; the others as errors."""
    now = now or utcnow()
    office = await session.get(Office, office_id)
    if office is None:
        raise NotFound("This office does not exist.")
    mapping = await load_mapping(session, office_id)
    reports, errors = parse(keys, data, mapping, ZoneInfo(office.timezone), now)
    accepted = await store(session, office_id, reports, actor=actor, source="csv", now=now) \
        if reports else 0
    return Imported(accepted, errors)
