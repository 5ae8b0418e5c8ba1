"""Tables of an appointment for several services and several people (migration 0013).

An appointment keeps its first service in ``appointment.service_id`` and the person who booked
in its own name columns (person 1). ``appointment_service`` lists every service of an
appointment booked for more than one, in the order chosen; ``appointment_person`` the further
people (a family's passports), numbered from 2 as on the identity checks
(``cases.models.IdentityCheck.person``). A plain booking has rows in neither.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from core.tenancy import OwnedThroughAppointment

MAX_PERSON = 20  # as ``ck_identity_check_person``


class AppointmentService(SQLModel, OwnedThroughAppointment, table=True):
    __tablename__ = "appointment_service"

    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
        )
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="RESTRICT"), nullable=False)
    )


class AppointmentPerson(SQLModel, OwnedThroughAppointment, table=True):
    __tablename__ = "appointment_person"
    __table_args__ = (
        CheckConstraint(f"person >= 2 AND person <= {MAX_PERSON}",
                        name="ck_appointment_person_person"),
    )

    appointment_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
        )
    )
    person: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: dt.date | None = None
