"""The municipality table: a town served by the installation, with its host names and branding.

Offices, services (online services are services), staff accounts, closures, requests and
audit events carry ``municipality_id``; everything else belongs to one through its office or
its request (``tenants.scope``). The default municipality (id 1) exists in every database: the
migration creates it from today's data, and ``metadata.create_all`` inserts it too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, Text, event
from sqlmodel import Field, SQLModel

from core.tenancy import DEFAULT_MUNICIPALITY_ID
from core.types import UTCDateTime, utcnow

DEFAULT_NAME = "Bürgerbüro"


class Municipality(SQLModel, table=True):
    __tablename__ = "municipality"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Host names (lower case, without port), one per line. A request on none of them is served
    # by the default municipality: with one municipality every host serves it.
    hosts: str = Field(default="", sa_type=Text)
    # Optional path prefix (``/stadt-a``) under which the municipality is also reached.
    path_prefix: str = Field(default="", max_length=100)
    # Branding: a logo's URL (https or /static/...) and one accent colour (#rrggbb) with enough
    # contrast to white and to the body text (``tenants.service.check_accent``).
    logo_url: str = Field(default="", max_length=500)
    accent_colour: str = Field(default="", max_length=7)
    imprint: str = Field(default="", sa_type=Text)
    privacy_statement: str = Field(default="", sa_type=Text)
    accessibility_statement: str = Field(default="", sa_type=Text)
    # Days after which finished appointments and requests are erased; None: the installation's
    # ``BUERO_RETENTION_DAYS``.
    retention_days: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def host_list(self) -> list[str]:
        return [line.strip() for line in self.hosts.splitlines() if line.strip()]


# A schema made by ``create_all`` (tests, fresh installs before the first migration run) gets
# the default municipality as the migration makes it.
event.listen(
    Municipality.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL(f"INSERT INTO municipality (id, name, hosts, path_prefix, logo_url, accent_colour, "
        f"imprint, privacy_statement, accessibility_statement, created_at, updated_at) "
        f"VALUES ({DEFAULT_MUNICIPALITY_ID}, '{DEFAULT_NAME}', '', '', '', '', '', '', '', "
        f"CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
)
# PostgreSQL's sequence must then start after it.
event.listen(
    Municipality.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL("SELECT setval(pg_get_serial_sequence('municipality', 'id'), "
        "(SELECT max(id) FROM municipality))").execute_if(dialect="postgresql"),
)
