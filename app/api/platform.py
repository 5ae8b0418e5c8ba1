"""Platform API (``/api/v1/platform/...``, role ``platform_admin``): municipalities (created,
changed, listed) and their first administrators. It answers on every host and sees every
municipality (``tenants.hosts.UNSCOPED``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.http import read_json
from app.api.openapi import operation
from app.api.routing import ID
from app.auth import require_api_user
from app.context import ctx
from booking.admin_validation import Duplicate
from staff.models import Role
from staff.service import staff_actor
from tenants import service

ROLE = Role.platform_admin.value


class MunicipalityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    hosts: list[str] = []
    path_prefix: str = ""
    logo_url: str = ""
    accent_colour: str = ""
    imprint: str = ""
    privacy_statement: str = ""
    accessibility_statement: str = ""
    retention_days: int | None = None


class MunicipalityPatch(BaseModel):
    """The fields to change; those left out stay as they are."""
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    hosts: list[str] | None = None
    path_prefix: str | None = None
    logo_url: str | None = None
    accent_colour: str | None = None
    imprint: str | None = None
    privacy_statement: str | None = None
    accessibility_statement: str | None = None
    retention_days: int | None = None


class MunicipalityOut(BaseModel):
    id: int
    name: str
    hosts: list[str]
    path_prefix: str
    logo_url: str
    accent_colour: str
    imprint: str = Field(description="Shown on /imprint above the offices' details.")
    privacy_statement: str = Field(description="Shown on /privacy above the product's notice.")
    accessibility_statement: str = Field(
        description="Shown on /barrierefreiheit above the statement the admins keep.")
    retention_days: int | None


class AdminIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    password: str
    display_name: str = ""


class AdminOut(BaseModel):
    id: int
    email: str
    role: str
    municipality_id: int


ERRORS: dict[int, type[BaseModel] | str | None] = {401: None, 403: None, 422: None}


@operation("Create a municipality", tag="platform", request=MunicipalityIn,
           responses={201: MunicipalityOut, 409: None, **ERRORS}, auth=ROLE)
async def create_municipality(request: Request) -> Response:
    user = await require_api_user(request, role=ROLE)
    values = (await read_json(request, MunicipalityIn)).model_dump(exclude_unset=True)
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            created = await service.create_municipality(session, staff_actor(user), values)
            body = service.describe(created)
    except IntegrityError as exc:
        raise Duplicate() from exc
    state.hosts.forget()
    return JSONResponse(body, status_code=201)


@operation("Change a municipality (only the fields sent)", tag="platform",
           request=MunicipalityPatch,
           responses={200: MunicipalityOut, 404: None, 409: None, **ERRORS}, auth=ROLE)
async def update_municipality(request: Request) -> Response:
    """Its name, host names, branding, imprint, privacy and accessibility statements (plain
    text: line breaks are kept, nothing is read as HTML) and retention period."""
    user = await require_api_user(request, role=ROLE)
    values = (await read_json(request, MunicipalityPatch)).model_dump(exclude_unset=True)
    state = ctx(request)
    try:
        async with state.db.transaction(write=True) as session:
            changed = await service.update_municipality(
                session, staff_actor(user), request.path_params["id"], values)
            body = service.describe(changed)
    except IntegrityError as exc:
        raise Duplicate() from exc
    state.hosts.forget()
    return JSONResponse(body)


@operation("List the municipalities", tag="platform",
           responses={200: MunicipalityOut, 401: None, 403: None}, auth=ROLE)
async def list_municipalities(request: Request) -> Response:
    await require_api_user(request, role=ROLE)
    async with ctx(request).db.transaction() as session:
        body = [service.describe(m) for m in await service.list_municipalities(session)]
    return JSONResponse(body)


@operation("Create an administrator of a municipality", tag="platform", request=AdminIn,
           responses={201: AdminOut, 404: None, 409: None, **ERRORS}, auth=ROLE)
async def create_admin(request: Request) -> Response:
    user = await require_api_user(request, role=ROLE)
    municipality_id = request.path_params["id"]
    values = (await read_json(request, AdminIn)).model_dump()
    try:
        async with ctx(request).db.transaction(write=True) as session:
            admin = await service.create_admin(session, staff_actor(user), municipality_id,
                                               values)
            body = {"id": admin.id, "email": admin.email, "role": admin.role,
                    "municipality_id": admin.municipality_id}
    except IntegrityError as exc:
        raise Duplicate() from exc
    return JSONResponse(body, status_code=201)


routes: list[BaseRoute] = [
    Route("/api/v1/platform/municipalities", create_municipality, methods=["POST"]),
    Route("/api/v1/platform/municipalities", list_municipalities, methods=["GET"]),
    Route(f"/api/v1/platform/municipalities/{ID}", update_municipality, methods=["PATCH"]),
    Route(f"/api/v1/platform/municipalities/{ID}/admins", create_admin, methods=["POST"]),
]
