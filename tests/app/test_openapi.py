"""The OpenAPI document: generated from ``@operation`` metadata, valid OpenAPI 3.1, complete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from app.api.openapi import build_spec, operation, undocumented_api_routes
from app.main import all_routes

# --- a small API to build a document from ------------------------------------------------------


class Citizen(BaseModel):
    given_name: str
    email: str


class BookIn(BaseModel):
    service_id: int
    start: dt.datetime
    citizen: Citizen


class BookOut(BaseModel):
    reference: str
    status: str


class Window(BaseModel):
    service_id: int
    from_: dt.date = Field(alias="from", description="First day, inclusive.")
    to: dt.date | None = None


class Office(BaseModel):
    id: int
    name: str


@operation("Book", tag="public", request=BookIn, responses={201: BookOut, 409: None, 422: None})
async def book(request: Request) -> Response:
    return Response()


@operation("Offices", tag="public", responses={200: list[Office]}, query=Window)
async def offices(request: Request) -> Response:
    return Response()


@operation("One office", tag="admin", responses={200: Office, 404: None}, auth="admin")
async def office(request: Request) -> Response:
    """Reads one office."""
    return Response()


@operation("Calendar", tag="citizen", responses={200: "text/calendar", 401: None},
           auth="citizen")
async def calendar(request: Request) -> Response:
    return Response()


async def undocumented(request: Request) -> Response:
    return Response()


class Thing(HTTPEndpoint):
    @operation("Delete a thing", tag="admin", responses={204: None}, auth="staff")
    async def delete(self, request: Request) -> Response:
        return Response(status_code=204)

    async def get(self, request: Request) -> Response:
        return Response()


ROUTES = [
    Route("/api/v1/appointments", book, methods=["POST"]),
    Route("/api/v1/offices", offices, methods=["GET"]),
    Mount("/api/v1/admin", routes=[Route("/offices/{id:int}", office, methods=["GET"])]),
    Route("/api/v1/me/calendar.ics", calendar, methods=["GET"]),
    Route("/api/v1/things/{name}", Thing),
    Route("/api/v1/forgotten", undocumented, methods=["GET", "POST"]),
    Route("/not-api", undocumented),
]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/components/schemas/"), ref
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_spec_from_operations_is_valid_openapi_31() -> None:
    spec = build_spec(ROUTES, version="9.9", server_url="https://buergerbuero.example")
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "9.9"
    assert spec["servers"] == [{"url": "https://buergerbuero.example"}]
    for ref in _refs(spec):  # every reference points at a component that exists
        _resolve(spec, ref)


def test_request_and_response_models_become_shared_components() -> None:
    spec = build_spec(ROUTES)
    post = spec["paths"]["/api/v1/appointments"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert _resolve(spec, body["$ref"])["properties"]["citizen"] == {
        "$ref": "#/components/schemas/Citizen"
    }
    created = post["responses"]["201"]["content"]["application/json"]["schema"]
    assert set(_resolve(spec, created["$ref"])["properties"]) == {"reference", "status"}
    # A declared error status and the default response both use the one error shape.
    conflict = post["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/Error"}
    assert post["responses"]["default"]["content"]["application/json"]["schema"] == conflict
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = _resolve(spec, error["properties"]["error"]["$ref"])
    assert set(inner["required"]) == {"code", "message"}


def test_lists_query_parameters_and_path_parameters() -> None:
    spec = build_spec(ROUTES)
    get = spec["paths"]["/api/v1/offices"]["get"]
    listed = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"type": "array", "items": {"$ref": "#/components/schemas/Office"}}
    params = {p["name"]: p for p in get["parameters"]}
    assert params["from"]["in"] == "query" and params["from"]["required"] is True
    assert params["from"]["schema"]["format"] == "date"
    assert params["from"]["description"] == "First day, inclusive."
    assert params["service_id"]["schema"]["type"] == "integer"
    assert params["to"]["required"] is False

    one = spec["paths"]["/api/v1/admin/offices/{id}"]["get"]  # Mount prefix, convertor removed
    assert one["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
    ]
    assert one["description"].startswith("Reads one office.")
    assert "role: admin" in one["description"]


def test_security_media_types_and_endpoint_classes() -> None:
    spec = build_spec(ROUTES)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["citizenLink"] == schemes["citizenLink"] | {"type": "http", "scheme": "bearer"}
    assert schemes["staffToken"]["scheme"] == "bearer"

    ics = spec["paths"]["/api/v1/me/calendar.ics"]["get"]
    assert ics["security"] == [{"citizenLink": []}]
    assert ics["responses"]["200"]["content"] == {"text/calendar": {"schema": {"type": "string"}}}
    assert spec["paths"]["/api/v1/admin/offices/{id}"]["get"]["security"] == [{"staffToken": []}]
    assert "security" not in spec["paths"]["/api/v1/appointments"]["post"]

    thing = spec["paths"]["/api/v1/things/{name}"]
    assert set(thing) == {"delete"}  # the undocumented GET is left out, not guessed
    assert thing["delete"]["responses"]["204"] == {"description": "No Content"}

    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "/api/v1/forgotten" not in spec["paths"] and "/not-api" not in spec["paths"]


def test_undocumented_api_routes_are_reported() -> None:
    assert undocumented_api_routes(ROUTES) == [
        "GET /api/v1/things/{name}",
        "GET /api/v1/forgotten",
        "POST /api/v1/forgotten",
    ]


def test_every_api_route_of_the_app_is_documented() -> None:
    assert undocumented_api_routes(all_routes()) == []


# Endpoints of the external contract (issue 2's part of it) that the document must describe.
CONTRACT_OPERATIONS = [
    ("get", "/api/v1/offices"),
    ("get", "/api/v1/services"),
    ("get", "/api/v1/availability"),
    ("post", "/api/v1/appointments"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/confirm"),
    ("post", "/api/v1/me/cancel"),
    ("post", "/api/v1/me/reschedule"),
    ("get", "/api/v1/me/calendar.ics"),
    ("post", "/api/v1/auth/token"),
    *[
        (method, f"/api/v1/admin/{res}{suffix}")
        for res in ("offices", "services", "schedules", "closures", "users")
        for method, suffix in (("get", ""), ("post", ""), ("patch", "/{id}"), ("delete", "/{id}"))
    ],
]


async def test_served_document_is_valid_and_covers_the_contract(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    spec = r.json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    missing = [
        f"{method.upper()} {path}"
        for method, path in CONTRACT_OPERATIONS
        if method not in spec["paths"].get(path, {})
    ]
    assert missing == []
    assert spec["paths"]["/api/v1/appointments"]["post"]["requestBody"]["required"] is True
    for item in spec["paths"].values():
        for op in item.values():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
    # Built once per app, then served from memory.
    again = await client.get("/api/v1/openapi.json")
    assert again.json() == spec


@pytest.mark.parametrize("path", ["/api/v1/openapi.json"])
async def test_document_needs_no_authentication(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 200


def _check_against_document(
    spec: dict[str, Any], method: str, path: str, r: httpx.Response
) -> None:
    """The response's body is valid under the schema the document gives for its status."""
    from jsonschema import Draft202012Validator

    documented = spec["paths"][path][method]["responses"]
    response = documented.get(str(r.status_code))
    assert response is not None, f"{method.upper()} {path}: status {r.status_code} undocumented"
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": spec["components"]})
    errors = [e.message for e in validator.iter_errors(r.json())]
    assert errors == [], f"{method.upper()} {path} {r.status_code}: {errors[:3]}"


async def test_served_responses_match_the_document(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from app.demo import load_demo, new_password

    state = app.state.ctx
    demo = await load_demo(state.settings)
    spec = (await client.get("/api/v1/openapi.json")).json()

    for path in ("/api/v1/offices", "/api/v1/services"):
        r = await client.get(path)
        assert r.status_code == 200
        _check_against_document(spec, "get", path, r)

    start = dt.date.today() + dt.timedelta(days=7)
    query = {"service_id": demo.service_ids[0], "office_id": demo.office_id,
             "from": start.isoformat(), "to": (start + dt.timedelta(days=6)).isoformat()}
    r = await client.get("/api/v1/availability", params=query)
    assert r.status_code == 200 and r.json()["slots"]
    _check_against_document(spec, "get", "/api/v1/availability", r)
    r = await client.get("/api/v1/availability", params={**query, "to": "2000-01-01"})
    assert r.status_code == 422
    _check_against_document(spec, "get", "/api/v1/availability", r)

    admin = next(x for x in demo.logins if x.role == "admin")
    r = await client.post("/api/v1/auth/token",
                          json={"email": admin.email, "password": admin.password})
    _check_against_document(spec, "post", "/api/v1/auth/token", r)
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for resource in ("offices", "services", "schedules", "closures", "users"):
        path = f"/api/v1/admin/{resource}"
        r = await client.get(path, headers=headers)
        assert r.status_code == 200
        _check_against_document(spec, "get", path, r)
    r = await client.post("/api/v1/admin/users", headers=headers, json={
        "email": "neu@ostfildern.example", "password": new_password(), "role": "clerk",
        "office_ids": [demo.office_id]})
    assert r.status_code == 201
    _check_against_document(spec, "post", "/api/v1/admin/users", r)
    r = await client.get("/api/v1/admin/offices", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    _check_against_document(spec, "get", "/api/v1/admin/offices", r)
