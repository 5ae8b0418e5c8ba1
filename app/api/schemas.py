"""Request and response models of the public and the citizen API (CONTRACT §3).

Requests: unknown fields are ignored (``extra="ignore"``) so older clients keep working when we add
fields and newer clients work against an older server; every listed field is validated strictly
(ids are JSON integers, times carry a UTC offset), and a bad value is a 422 naming the field.
Responses are built by the ``*_out`` helpers below; times are ISO 8601 in the office's zone with
its UTC offset (``2026-11-23T09:00:00+01:00``), money is integer cents plus a currency.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.api.routing import MAX_ID
from booking.availability import Slot
from booking.catalog import OfferedService, service_description, service_name
from booking.channels import offered
from booking.models import Appointment, Office, Service
from booking.service import Actions
from core.i18n import Language
from core.types import parse_day, within_calendar

Id = Annotated[StrictInt, Field(gt=0, le=MAX_ID)]
ChannelName = Literal["video", "onsite", "phone"]
QueryId = Annotated[int, Field(gt=0, le=MAX_ID)]  # query strings are text: "12" is fine
def _one_line(value: str) -> str:
    # A line break in a name would end up in mail headers and letters; the page forms refuse
    # it as well (booking.admin_validation.text, app/pages/citizen_forms.py).
    if not value.isprintable():
        raise ValueError("a name is one line of text, without control characters")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_one_line),
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=50, pattern=r"^[0-9 +()/.\-]*$")
]


def _email(value: str) -> str:
    # Syntax only (no DNS): a typo is caught here, a dead mailbox by the bounce. Local and test
    # domains are allowed so an installation can be tried out with a local mail server.
    try:
        checked = validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError:
        raise ValueError("not a valid e-mail address") from None
    return str(checked.normalized)


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
]


def _text_only(value: Any) -> Any:
    # Times are ISO 8601 strings on the wire; a bare number would be read as a Unix timestamp.
    if isinstance(value, (int, float)):
        raise ValueError("expected an ISO 8601 string")
    return value


def _within_calendar(moment: datetime) -> datetime:
    within_calendar(moment.date())
    return moment


IsoDateTime = Annotated[
    AwareDatetime, BeforeValidator(_text_only), AfterValidator(_within_calendar)
]
IsoDate = Annotated[date, BeforeValidator(_text_only), AfterValidator(within_calendar)]


def _date_or_datetime(value: Any) -> date | datetime:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date (YYYY-MM-DD) or an ISO 8601 date-time")
    text = value.strip()
    if len(text) > 19 and text[19:].startswith(" "):
        # An unencoded "+01:00" in a query string arrives as " 01:00".
        text = text[:19] + "+" + text[20:]
    try:
        if len(text) == 10:
            return parse_day(text)
        moment = datetime.fromisoformat(text)
        within_calendar(moment.date())
        return moment
    except ValueError:
        raise ValueError("expected a date (YYYY-MM-DD) or an ISO 8601 date-time") from None


DateParam = Annotated[
    date | datetime,
    PlainValidator(_date_or_datetime),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-11-23"]}),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=1000)


# --- queries -----------------------------------------------------------------------------------


class ServicesQuery(_In):
    office_id: QueryId | None = None


class AvailabilityQuery(_In):
    # Unknown parameters are refused: each new query string would otherwise be a new key of
    # the availability cache, and a fresh computation.
    model_config = ConfigDict(extra="forbid", str_max_length=100)

    service_id: QueryId | None = None
    service_ids: str | None = Field(
        default=None, pattern=r"^[0-9]{1,9}(,[0-9]{1,9}){0,9}$",
        description="Several services in one appointment, comma-separated (`1,2`), instead of "
        "`service_id`: the starts where all of them fit, one after the other.")
    persons: int = Field(default=1, ge=1, le=20, description="How many people the "
                         "appointment is for (each further person makes it longer).")
    office_id: QueryId
    from_: DateParam = Field(
        alias="from",
        description="First day (office-local, inclusive) as YYYY-MM-DD, or an ISO 8601 "
        "date-time (slots starting at or after it).",
    )
    to: DateParam = Field(
        description="Last day (inclusive) as YYYY-MM-DD, at most 62 days after `from`; or an "
        "ISO 8601 date-time (slots starting before it).",
    )
    lang: str | None = Field(default=None, max_length=10,
                             description="Language of error messages, as everywhere.")
    channel: ChannelName | None = Field(
        default=None, description="`video`, `onsite` or `phone`; default: video where the "
        "service is offered by video. A channel the service is not offered by: 422.")

    @model_validator(mode="after")
    def _one_service_field(self) -> AvailabilityQuery:
        if (self.service_id is None) == (self.service_ids is None):
            raise ValueError("give either service_id or service_ids")
        return self

    def ids(self) -> list[int]:
        """The services asked for, first one first."""
        if self.service_ids is not None:
            return [int(part) for part in self.service_ids.split(",")]
        assert self.service_id is not None
        return [self.service_id]


# --- requests ----------------------------------------------------------------------------------


class CitizenIn(_In):
    given_name: Name
    family_name: Name
    email: Email
    phone: Phone = ""
    date_of_birth: IsoDate | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValueError("must be a date between 1900-01-01 and today")
        return value


class PersonIn(_In):
    """A further person of the appointment (e.g. a child who needs a passport)."""

    given_name: Name
    family_name: Name
    date_of_birth: IsoDate | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: date | None) -> date | None:
        return CitizenIn._plausible_birth_date(value)


class BookingIn(_In):
    service_id: Id | None = None
    service_ids: list[Id] | None = Field(
        default=None, min_length=1, max_length=10,
        description="Several services in one appointment, instead of `service_id` (the first "
        "one is the appointment's `service`); the appointment is as long as they all need.")
    persons: list[PersonIn] = Field(
        default_factory=list, max_length=19,
        description="Further people the appointment is for (e.g. a family's passports); each "
        "makes it longer and counts toward the address's limit of open appointments.")
    office_id: Id
    start: IsoDateTime
    citizen: CitizenIn
    postal_address: list[str] = Field(
        default_factory=list, max_length=5,
        description="Where the documents are posted: the lines after the name (1 to 5 of at "
        "most 60 characters). Required when the service's `postal_address_required` is true "
        "(else 422 `validation_error` on `postal_address`).")
    locale: Language | None = None  # default: the request's language
    channel: ChannelName | None = Field(
        default=None, description="How to meet: `video`, `onsite` or `phone` (one of the "
        "service's `channels`; default: video where offered). `phone` needs `citizen.phone`.")
    altcha: str | None = Field(
        default=None, max_length=2000,
        description="The solved proof-of-work challenge of `GET /api/v1/challenge` (base64 of "
        "ALTCHA's JSON payload). Required unless a staff bearer token is sent or "
        "`BUERO_PROOF_OF_WORK` is off; else 422 `proof_required` / `proof_invalid` / "
        "`proof_expired`, 409 `proof_reused`.")

    @model_validator(mode="after")
    def _one_service_field(self) -> BookingIn:
        if self.service_ids is None and self.service_id is None:
            raise ValueError("give service_id or service_ids")
        if (self.service_ids is not None and self.service_id is not None
                and self.service_id != self.service_ids[0]):
            raise ValueError("service_id, when given with service_ids, is their first")
        return self

    def ids(self) -> list[int]:
        """The services booked, first one first."""
        if self.service_ids is not None:
            return list(self.service_ids)
        assert self.service_id is not None
        return [self.service_id]


class RescheduleIn(_In):
    start: IsoDateTime


# --- responses ---------------------------------------------------------------------------------


class OfficeOut(BaseModel):
    id: int
    name: str
    timezone: str
    min_notice_minutes: int
    horizon_days: int
    address: str
    email: str
    phone: str


class ServiceOut(BaseModel):
    id: int
    name: str
    description: str
    duration_minutes: int
    fee_cents: int
    currency: str
    video: bool
    channels: list[ChannelName] = Field(
        description="How the service is offered: a subset of `video`, `onsite`, `phone`.")
    bring: str = Field(description="What to bring to an on-site appointment (may be empty).")
    requires_identity: bool
    postal_address_required: bool = Field(
        description="The documents are sent by post: a booking must give `postal_address`.")
    office_ids: list[int]


class SlotOut(BaseModel):
    start: str
    end: str


class AvailabilityOut(BaseModel):
    timezone: str
    slots: list[SlotOut]


class BookingCreated(BaseModel):
    reference: str
    status: Literal["reserved", "confirmed"]
    start: str
    end: str
    hold_expires_at: str | None = Field(default=None, description="only while reserved")


class JoinOut(BaseModel):
    opens_at: str
    closes_at: str


class MeServiceOut(BaseModel):
    id: int
    name: str
    duration_minutes: int
    fee_cents: int
    currency: str
    video: bool
    bring: str = Field(description="What to bring (for an on-site appointment).")


class MePersonOut(BaseModel):
    person: int
    given_name: str
    family_name: str
    date_of_birth: str | None


class MeOfficeOut(BaseModel):
    id: int
    name: str
    timezone: str
    address: str
    email: str
    phone: str


class MeCitizenOut(BaseModel):
    given_name: str
    family_name: str
    email: str


class ActionsOut(BaseModel):
    can_confirm: bool
    can_cancel: bool
    can_reschedule: bool


class CitizenCaseItemOut(BaseModel):
    name: str
    person: int | None = Field(default=None, description="Whose item, for an appointment of "
                               "several people (1 the citizen who booked, 2, 3, ...).")
    fee_schedule_ref: str
    quantity: int
    unit_fee_cents: int
    amount_cents: int
    currency: str


class CaseMilestoneOut(BaseModel):
    kind: str = Field(description="`completed`, `notice_sent`, `paid`, `printed`, `posted`, ...")
    at: str
    label: str = Field(description="For people, in the request's language, past participle "
                       "(\"Bescheid versandt\").")


class CitizenCaseOut(BaseModel):
    """The case once the request is completed (built by ``app.api.case_schemas``)."""

    case_number: str = Field(description="The Kassenzeichen: the payment reference.")
    amount_cents: int
    currency: str
    payment: Literal["invoice", "online", "none"]
    payment_status: Literal["not_required", "open", "paid", "failed", "refunded"]
    due_date: str | None
    delivery: Literal["post", "email", "pickup", "external"]
    dispatch_status: Literal["not_required", "queued", "printed", "posted", "delivered",
                             "returned", "cancelled", "forwarded"]
    external_authority: str | None = Field(description="Who sends the document, for "
                                           "`delivery: external`.")
    items: list[CitizenCaseItemOut]
    milestones: list[CaseMilestoneOut] = Field(
        default_factory=list, description="The steps reached so far, oldest first "
        "(``app.api.milestone_views``).")


class MeOut(BaseModel):
    reference: str
    status: str
    channel: ChannelName = Field(description="How the citizen and the clerk meet; `join` "
                                 "matters for `video` only.")
    start: str
    end: str
    hold_expires_at: str | None
    locale: str
    service: MeServiceOut
    office: MeOfficeOut
    citizen: MeCitizenOut
    join: JoinOut
    actions: ActionsOut
    case: CitizenCaseOut | None = None
    services: list[MeServiceOut] = Field(
        default_factory=list, description="Every service of the appointment, `service` first.")
    persons: list[MePersonOut] = Field(
        default_factory=list, description="Everyone the appointment is for: 1 the citizen who "
        "booked, 2, 3, ... further people.")


# --- rendering ---------------------------------------------------------------------------------


def iso(value: datetime, tz: str | ZoneInfo) -> str:
    """ISO 8601 with the office's UTC offset, to the second."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return value.astimezone(zone).isoformat(timespec="seconds")


def office_out(office: Office) -> dict[str, Any]:
    return OfficeOut(
        id=office.id or 0, name=office.name, timezone=office.timezone,
        min_notice_minutes=office.min_notice_minutes, horizon_days=office.horizon_days,
        address=office.address, email=office.email, phone=office.phone,
    ).model_dump()


def service_out(item: OfferedService, lang: str) -> dict[str, Any]:
    s = item.service
    return ServiceOut(
        id=s.id or 0, name=service_name(s, lang), description=service_description(s, lang),
        duration_minutes=s.duration_minutes, fee_cents=s.fee_cents, currency=s.currency,
        video=s.video, channels=offered(s), bring=s.bring,
        requires_identity=s.requires_identity, postal_address_required=s.delivers_by_post,
        office_ids=item.office_ids,
    ).model_dump()


def availability_out(office: Office, slots: list[Slot]) -> dict[str, Any]:
    tz = ZoneInfo(office.timezone)
    return {
        "timezone": office.timezone,
        "slots": [{"start": iso(s.start, tz), "end": iso(s.end, tz)} for s in slots],
    }


def booking_out(appointment: Appointment, timezone: str) -> dict[str, Any]:
    tz = ZoneInfo(timezone)
    body: dict[str, Any] = {
        "reference": appointment.reference,
        "status": appointment.status,
        "start": iso(appointment.start_at, tz),
        "end": iso(appointment.end_at, tz),
    }
    if appointment.hold_expires_at is not None:
        body["hold_expires_at"] = iso(appointment.hold_expires_at, tz)
    return body


def me_out(
    appointment: Appointment,
    office: Office,
    service: Service,
    *,
    lang: str,
    actions: Actions,
    join_before_minutes: int,
    join_after_minutes: int,
    case: dict[str, Any] | None = None,
) -> dict[str, Any]:
    tz = ZoneInfo(office.timezone)
    hold = appointment.hold_expires_at
    return MeOut(
        reference=appointment.reference,
        status=appointment.status,
        channel=appointment.channel,
        start=iso(appointment.start_at, tz),
        end=iso(appointment.end_at, tz),
        hold_expires_at=iso(hold, tz) if hold and appointment.status == "reserved" else None,
        locale=appointment.locale,
        service=MeServiceOut(
            id=service.id or 0, name=service_name(service, lang),
            duration_minutes=service.duration_minutes, fee_cents=service.fee_cents,
            currency=service.currency, video=service.video, bring=service.bring,
        ),
        office=MeOfficeOut(
            id=office.id or 0, name=office.name, timezone=office.timezone,
            address=office.address, email=office.email, phone=office.phone,
        ),
        citizen=MeCitizenOut(
            given_name=appointment.given_name, family_name=appointment.family_name,
            email=appointment.email,
        ),
        join=JoinOut(
            opens_at=iso(appointment.start_at - timedelta(minutes=join_before_minutes), tz),
            closes_at=iso(appointment.end_at + timedelta(minutes=join_after_minutes), tz),
        ),
        actions=ActionsOut(
            can_confirm=actions.can_confirm, can_cancel=actions.can_cancel,
            can_reschedule=actions.can_reschedule,
        ),
        case=CitizenCaseOut.model_validate(case) if case is not None else None,
    ).model_dump()
