"""Request and response models of the after-the-call API: the dispatch queue and print batches,
the postal address, the citizen's documents and feedback, the public status lookup, and the
admins' feedback results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.api.schemas import Id, IsoDate, QueryId, iso
from postcall.dispatch import DispatchRow

DispatchStatusName = Literal["queued", "printed", "posted", "delivered", "returned", "cancelled"]


# --- dispatch --------------------------------------------------------------------------------


class DispatchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: DispatchStatusName | None = None
    office_id: QueryId | None = None


class DispatchStatusIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: DispatchStatusName


class BatchQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: IsoDate | None = Field(default=None, description="The batch's day (YYYY-MM-DD); "
                                 "default: tomorrow in the office's time zone.")
    office_id: QueryId | None = None
    upto: QueryId | None = Field(default=None, description="Only letters up to this dispatch id "
                            "(what a page or a download showed), so a letter queued meanwhile "
                            "is not marked printed unseen.")


class BatchStatusIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: IsoDate
    status: Literal["printed", "posted"]
    office_id: Id | None = None
    upto: Id | None = None


class BatchStatusOut(BaseModel):
    date: str
    status: str
    count: int = Field(description="Letters that changed state.")


class RecipientOut(BaseModel):
    name: str
    address_lines: list[str]
    complete: bool = Field(description="False while the postal address is missing.")


class DispatchOut(BaseModel):
    id: int
    case_number: str
    reference: str
    office_id: int
    status: DispatchStatusName
    provider: str = Field(description="`print_room`, `hybrid`, or empty before hand-over.")
    provider_status: str
    batch_date: str
    recipient: RecipientOut
    created_at: str
    updated_at: str


class PostalAddressIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=200)
    lines: list[str] = Field(min_length=1, max_length=5, description="The lines after the "
                             "name: street and house number, postcode and town (and a country "
                             "line for letters abroad).")


class PostalAddressOut(BaseModel):
    reference: str
    name: str
    lines: list[str]


# --- citizen ---------------------------------------------------------------------------------


class MilestoneOut(BaseModel):
    kind: str
    at: str
    label: str = Field(description="In the request's language, past participle.")


class StatusLookupIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=100)
    case_number: str = Field(min_length=1, max_length=40)
    date_of_birth: IsoDate


class StatusLookupOut(BaseModel):
    case_number: str  # empty while an online request is not decided
    reference: str
    request_status: str | None = None  # an online request's status (CONTRACT "Online services")
    payment_status: str
    dispatch_status: str
    delivery: str
    external_authority: str | None
    milestones: list[MilestoneOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    rating: StrictInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000,
                         description="Praise, criticism or suggestions (optional).")


class FeedbackOut(BaseModel):
    open: bool = Field(description="The form can be sent (the call is over, none given yet).")
    given: bool
    rating: int | None = None
    comment: str | None = None
    created_at: str | None = None


# --- admin -----------------------------------------------------------------------------------


class FeedbackQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    office_id: QueryId | None = None
    month: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$",
                              description="YYYY-MM; default: all months.")


class FeedbackCommentOut(BaseModel):
    at: str
    rating: int
    comment: str


class FeedbackMonthOut(BaseModel):
    office_id: int
    office: str
    month: str
    count: int
    average: str = Field(description="The average rating with one decimal, e.g. `4.3`.")
    distribution: dict[str, int] = Field(description="Count per rating `1`…`5`.")
    comments: list[FeedbackCommentOut]


# --- rendering -------------------------------------------------------------------------------


def dispatch_out(row: DispatchRow, tz: str) -> dict[str, Any]:
    d = row.dispatch
    return DispatchOut(
        id=d.id or 0, case_number=row.case_number, reference=row.reference,
        office_id=d.office_id, status=d.status,
        provider=d.provider, provider_status=d.provider_status,
        batch_date=d.batch_date.isoformat(),
        recipient=RecipientOut(name=row.recipient_name, address_lines=list(row.address_lines),
                               complete=bool(row.address_lines)),
        created_at=iso(d.created_at, tz), updated_at=iso(d.updated_at, tz),
    ).model_dump()
