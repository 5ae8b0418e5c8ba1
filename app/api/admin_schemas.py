"""Request and response bodies of the staff API (``/api/v1/auth``, ``/api/v1/admin``).

The request models check types only; the meaning (ranges, time zones, IBAN checksums, existing
ids) is checked by the domain services, so the admin pages apply exactly the same rules.
Create models leave optional fields unset (the service picks the defaults); patch models have
every field optional and only the fields sent are changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, RootModel

from booking.admin_validation import hhmm_text
from booking.models import Closure, Office, Schedule, Service
from staff.models import StaffUser

# Times on the wire carry an explicit offset ("+00:00"), as the contract shows, not "Z".
WireDateTime = Annotated[
    dt.datetime, PlainSerializer(lambda v: v.isoformat(timespec="seconds"), return_type=str)
]


# --- auth --------------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(
        default=None, max_length=100,
        description="the current code of the authenticator app, or a recovery code; required "
                    "when the account has a second factor")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_at: WireDateTime
    role: str


class MeOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: str
    office_ids: list[int]


# --- offices -----------------------------------------------------------------------------------


class OfficePatch(BaseModel):
    name: str | None = None
    timezone: str | None = None
    min_notice_minutes: int | None = None
    horizon_days: int | None = None
    authority: str | None = None
    address: str | None = None
    iban: str | None = None
    bic: str | None = None
    bank_name: str | None = None
    epc_name: str | None = None
    remittance_prefix: str | None = None
    email: str | None = None
    phone: str | None = None
    privacy_contact: str | None = None
    data_protection_officer: str | None = None
    imprint: str | None = None


class OfficeCreate(OfficePatch):
    name: str


class OfficeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str
    min_notice_minutes: int
    horizon_days: int
    authority: str
    address: str
    iban: str
    bic: str
    bank_name: str
    epc_name: str = ""
    remittance_prefix: str = "Kassenzeichen"
    email: str
    phone: str
    privacy_contact: str = ""
    data_protection_officer: str = ""
    imprint: str = ""

    @classmethod
    def of(cls, office: Office) -> OfficeOut:
        return cls.model_validate(office)


# --- services ----------------------------------------------------------------------------------


class ServicePatch(BaseModel):
    name: str | None = None
    name_en: str | None = None
    description: str | None = None
    description_en: str | None = None
    duration_minutes: int | None = None
    extra_person_minutes: int | None = Field(
        default=None, description="Minutes each further person of one appointment adds for "
        "this service (0–480); null: the whole `duration_minutes` again.")
    fee_cents: int | None = None
    currency: str | None = None
    fee_schedule_ref: str | None = None
    video: bool | None = None
    onsite: bool | None = Field(default=None, description="offered on site at the office")
    phone: bool | None = Field(default=None, description="offered by phone")
    bring: str | None = Field(default=None, description="what to bring on site (multi-line)")
    requires_identity: bool | None = None
    delivers_by_post: bool | None = None
    active: bool | None = None
    sort_order: int | None = None
    office_ids: list[int] | None = None


class ServiceCreate(ServicePatch):
    name: str


class ServiceOut(BaseModel):
    id: int
    name: str
    name_en: str
    description: str
    description_en: str
    duration_minutes: int
    extra_person_minutes: int | None
    fee_cents: int
    currency: str
    fee_schedule_ref: str
    video: bool
    onsite: bool
    phone: bool
    bring: str
    requires_identity: bool
    delivers_by_post: bool
    active: bool
    sort_order: int
    office_ids: list[int]

    @classmethod
    def of(cls, service: Service, office_ids: list[int]) -> ServiceOut:
        assert service.id is not None
        return cls(
            id=service.id, name=service.name, name_en=service.name_en,
            description=service.description, description_en=service.description_en,
            duration_minutes=service.duration_minutes,
            extra_person_minutes=service.extra_person_minutes, fee_cents=service.fee_cents,
            currency=service.currency, fee_schedule_ref=service.fee_schedule_ref,
            video=service.video, onsite=service.onsite, phone=service.phone,
            bring=service.bring, requires_identity=service.requires_identity,
            delivers_by_post=service.delivers_by_post, active=service.active,
            sort_order=service.sort_order, office_ids=office_ids,
        )


# --- schedules ---------------------------------------------------------------------------------


class SchedulePatch(BaseModel):
    office_id: int | None = None
    service_ids: list[int] | None = None
    weekdays: list[int] | None = Field(default=None, description="Monday = 0 … Sunday = 6")
    start_time: str | None = Field(default=None, description="HH:MM, office-local")
    end_time: str | None = Field(default=None, description="HH:MM, office-local")
    slot_minutes: int | None = None
    capacity: int | None = Field(default=None, description="parallel clerks")
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    release_time: str | None = Field(
        default=None, description="HH:MM, office-local: the slots of a day are released at "
        "this time, `release_days_ahead` days before it; null: no release rule")
    release_days_ahead: int | None = Field(default=None, description="e.g. 21 (0 to 365)")
    channel: Literal["video", "onsite", "phone"] | None = Field(
        default=None, description="null: the seats are shared by every channel of the "
        "services; a channel: seats for that channel's appointments only")


class ScheduleCreate(SchedulePatch):
    office_id: int
    service_ids: list[int]
    start_time: str
    end_time: str


class ScheduleOut(BaseModel):
    id: int
    office_id: int
    service_ids: list[int]
    weekdays: list[int]
    start_time: str
    end_time: str
    slot_minutes: int
    capacity: int
    valid_from: dt.date
    valid_until: dt.date | None
    release_time: str | None = None
    release_days_ahead: int | None = None
    channel: Literal["video", "onsite", "phone"] | None

    @classmethod
    def of(cls, schedule: Schedule, service_ids: list[int]) -> ScheduleOut:
        assert schedule.id is not None
        return cls(
            id=schedule.id, office_id=schedule.office_id, service_ids=service_ids,
            weekdays=schedule.weekday_list(), start_time=hhmm_text(schedule.start_time),
            end_time=hhmm_text(schedule.end_time), slot_minutes=schedule.slot_minutes,
            capacity=schedule.capacity, valid_from=schedule.valid_from,
            valid_until=schedule.valid_until,
            release_time=(hhmm_text(schedule.release_time) if schedule.release_time else None),
            release_days_ahead=schedule.release_days_ahead,
            channel=schedule.channel,
        )


# --- closures ----------------------------------------------------------------------------------


class ClosurePatch(BaseModel):
    office_id: int | None = Field(default=None, description="null: every office")
    date: dt.date | None = None
    reason: str | None = None


class ClosureCreate(ClosurePatch):
    date: dt.date


class ClosureOut(BaseModel):
    id: int
    office_id: int | None
    date: dt.date
    reason: str
    affected_appointments: int | None = Field(
        default=None,
        description="on create and change: active appointments on that day (not cancelled)",
    )

    @classmethod
    def of(cls, closure: Closure, affected: int | None = None) -> ClosureOut:
        assert closure.id is not None
        return cls(id=closure.id, office_id=closure.office_id, date=closure.date,
                   reason=closure.reason, affected_appointments=affected)


# --- staff users -------------------------------------------------------------------------------


class UserPatch(BaseModel):
    email: str | None = None
    password: str | None = Field(default=None, description="write-only")
    role: Literal["clerk", "admin"] | None = None
    office_ids: list[int] | None = None
    display_name: str | None = None
    active: bool | None = None


class UserCreate(UserPatch):
    email: str
    password: str


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: str
    office_ids: list[int]
    active: bool
    last_login_at: WireDateTime | None
    created_at: WireDateTime

    @classmethod
    def of(cls, user: StaffUser, office_ids: list[int]) -> UserOut:
        assert user.id is not None
        return cls(id=user.id, email=user.email, display_name=user.display_name,
                   role=user.role, office_ids=office_ids, active=user.active,
                   last_login_at=user.last_login_at, created_at=user.created_at)


# --- lists (for the OpenAPI document) ----------------------------------------------------------


class OfficeList(RootModel[list[OfficeOut]]):
    pass


class ServiceList(RootModel[list[ServiceOut]]):
    pass


class ScheduleList(RootModel[list[ScheduleOut]]):
    pass


class ClosureList(RootModel[list[ClosureOut]]):
    pass


class UserList(RootModel[list[UserOut]]):
    pass
