"""Admin API (``/api/v1/admin/...``): offices, services, schedules, closures, staff users and
online services.

Every resource has the same five handlers (list, read, create, change, delete), built from a
``Resource`` that names its body models and domain services. Handlers stay thin: authenticate,
parse, call one service in one transaction, render.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import admin_schemas as s
from app.api import online_schemas as o
from app.api.http import read_json
from app.api.openapi import operation
from app.api.routing import ID
from app.auth import require_api_user
from app.context import ctx
from booking import admin, admin_schedules
from booking.admin_validation import Duplicate
from core.audit import Actor
from online import catalogue
from staff.service import (
    create_user_from,
    delete_user,
    get_user,
    list_users,
    staff_actor,
    update_user,
    user_office_ids,
)

Json = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    path: str  # "offices"
    noun: str  # "office", for summaries
    create_model: type[BaseModel]
    patch_model: type[BaseModel]
    out_model: type[BaseModel]
    list_model: type[BaseModel]
    list_all: Callable[[AsyncSession], Awaitable[Sequence[Any]]]
    get: Callable[[AsyncSession, int], Awaitable[Any]]
    create: Callable[[AsyncSession, Actor, Json], Awaitable[Any]]
    update: Callable[[AsyncSession, Actor, int, Json], Awaitable[Any]]
    delete: Callable[[AsyncSession, Actor, int], Awaitable[None]]
    render: Callable[[AsyncSession, Sequence[Any]], Awaitable[list[Json]]]


# --- rendering ---------------------------------------------------------------------------------


async def _offices_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    return [s.OfficeOut.of(o).model_dump(mode="json") for o in items]


async def _services_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    links = await admin.service_office_ids(session, [i.id for i in items])
    return [s.ServiceOut.of(i, links.get(i.id, [])).model_dump(mode="json") for i in items]


async def _schedules_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    links = await admin_schedules.schedule_service_ids(session, [i.id for i in items])
    return [s.ScheduleOut.of(i, links.get(i.id, [])).model_dump(mode="json") for i in items]


async def _closures_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    # Create and change return (closure, affected appointments); lists return closures.
    out = []
    for item in items:
        closure, affected = item if isinstance(item, tuple) else (item, None)
        out.append(s.ClosureOut.of(closure, affected).model_dump(mode="json", exclude_none=False))
    return out


async def _users_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    links = await user_office_ids(session, [i.id for i in items])
    return [s.UserOut.of(i, links.get(i.id, [])).model_dump(mode="json") for i in items]


async def _list_closures(session: AsyncSession) -> Sequence[Any]:
    return await admin_schedules.list_closures(session)


async def _online_services_out(session: AsyncSession, items: Sequence[Any]) -> list[Json]:
    return [o.online_service_out(item) for item in items]


RESOURCES = [
    Resource("offices", "office", s.OfficeCreate, s.OfficePatch, s.OfficeOut, s.OfficeList,
             admin.list_offices, admin.get_office, admin.create_office, admin.update_office,
             admin.delete_office, _offices_out),
    Resource("services", "service", s.ServiceCreate, s.ServicePatch, s.ServiceOut,
             s.ServiceList, admin.list_services, admin.get_service, admin.create_service,
             admin.update_service, admin.delete_service, _services_out),
    Resource("schedules", "schedule", s.ScheduleCreate, s.SchedulePatch, s.ScheduleOut,
             s.ScheduleList, admin_schedules.list_schedules, admin_schedules.get_schedule,
             admin_schedules.create_schedule, admin_schedules.update_schedule,
             admin_schedules.delete_schedule, _schedules_out),
    Resource("closures", "closure", s.ClosureCreate, s.ClosurePatch, s.ClosureOut,
             s.ClosureList, _list_closures, admin_schedules.get_closure,
             admin_schedules.create_closure, admin_schedules.update_closure,
             admin_schedules.delete_closure, _closures_out),
    Resource("online-services", "online service", o.OnlineServiceCreate,
             o.OnlineServicePatch, o.OnlineServiceOut, o.OnlineServiceList,
             catalogue.online_services, catalogue.online_service,
             catalogue.create_online_service, catalogue.update_online_service,
             catalogue.delete_online_service, _online_services_out),
    Resource("users", "staff user", s.UserCreate, s.UserPatch, s.UserOut, s.UserList,
             list_users, get_user, create_user_from, update_user, delete_user, _users_out),
]


# --- handlers ----------------------------------------------------------------------------------


def _object_id(request: Request) -> int:
    value = request.path_params["id"]  # at most MAX_ID: larger ids match no route (app.api.routing)
    assert isinstance(value, int)
    return value


def _handlers(res: Resource) -> list[BaseRoute]:
    errors: dict[int, type[BaseModel] | str | None] = {401: None, 403: None}

    @operation(f"List {res.path}", tag="admin", responses={200: res.list_model, **errors},
               auth="admin")
    async def list_items(request: Request) -> Response:
        await require_api_user(request, role="admin")
        async with ctx(request).db.transaction() as session:
            body = await res.render(session, await res.list_all(session))
        return JSONResponse(body)

    @operation(f"Read one {res.noun}", tag="admin",
               responses={200: res.out_model, 404: None, **errors}, auth="admin")
    async def read_item(request: Request) -> Response:
        await require_api_user(request, role="admin")
        async with ctx(request).db.transaction() as session:
            body = await res.render(session, [await res.get(session, _object_id(request))])
        return JSONResponse(body[0])

    @operation(f"Create a {res.noun}", tag="admin", request=res.create_model,
               responses={201: res.out_model, 409: None, 422: None, **errors}, auth="admin")
    async def create_item(request: Request) -> Response:
        user = await require_api_user(request, role="admin")
        values = (await read_json(request, res.create_model)).model_dump(exclude_unset=True)
        try:
            async with ctx(request).db.transaction(write=True) as session:
                item = await res.create(session, staff_actor(user), values)
                body = await res.render(session, [item])
        except IntegrityError as exc:  # a concurrent create won the unique key
            raise Duplicate() from exc
        return JSONResponse(body[0], status_code=201)

    @operation(f"Change a {res.noun} (only the fields sent)", tag="admin",
               request=res.patch_model,
               responses={200: res.out_model, 404: None, 409: None, 422: None, **errors},
               auth="admin")
    async def update_item(request: Request) -> Response:
        user = await require_api_user(request, role="admin")
        object_id = _object_id(request)
        values = (await read_json(request, res.patch_model)).model_dump(exclude_unset=True)
        try:
            async with ctx(request).db.transaction(write=True) as session:
                item = await res.update(session, staff_actor(user), object_id, values)
                body = await res.render(session, [item])
        except IntegrityError as exc:
            raise Duplicate() from exc
        return JSONResponse(body[0])

    @operation(f"Delete a {res.noun}", tag="admin",
               responses={204: None, 404: None, 409: None, **errors}, auth="admin")
    async def delete_item(request: Request) -> Response:
        user = await require_api_user(request, role="admin")
        object_id = _object_id(request)
        async with ctx(request).db.transaction(write=True) as session:
            await res.delete(session, staff_actor(user), object_id)
        return Response(status_code=204)

    for handler, verb in ((list_items, "list"), (read_item, "read"), (create_item, "create"),
                          (update_item, "update"), (delete_item, "delete")):
        # Distinct names per resource: the OpenAPI document derives operation ids from them.
        handler.__name__ = handler.__qualname__ = f"admin_{res.path}_{verb}"

    base = f"/api/v1/admin/{res.path}"
    return [
        Route(base, list_items, methods=["GET"], name=f"admin_{res.path}_list"),
        Route(base, create_item, methods=["POST"], name=f"admin_{res.path}_create"),
        Route(base + f"/{ID}", read_item, methods=["GET"], name=f"admin_{res.path}_read"),
        Route(base + f"/{ID}", update_item, methods=["PATCH"],
              name=f"admin_{res.path}_update"),
        Route(base + f"/{ID}", delete_item, methods=["DELETE"],
              name=f"admin_{res.path}_delete"),
    ]


routes: list[BaseRoute] = [route for res in RESOURCES for route in _handlers(res)]
