"""OpenAPI 3.1 for ``/api/v1``, built from the routes themselves.

Handlers declare their request and response models with ``@operation(...)``; the document is
generated from the routing table, so it cannot drift from what is served. Schemas come from
pydantic (JSON Schema 2020-12, which OpenAPI 3.1 uses as is) and are shared as components.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeGuard, TypeVar, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.convertors import FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.routing import BaseRoute, Mount, Route

F = TypeVar("F", bound=Callable[..., Any])

API_PREFIX = "/api/v1"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "patch")
REF_TEMPLATE = "#/components/schemas/{model}"

# A response body: a pydantic model, another type pydantic can describe (``list[Model]``),
# a media type string for non-JSON bodies (``"text/calendar"``), or None for no body.
ResponseSpec = type[Any] | str | None


@dataclass
class Operation:
    summary: str
    tag: str
    request: type[BaseModel] | None = None
    responses: dict[int, ResponseSpec] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    auth: str | None = None  # None | "citizen" | "staff" | "admin" | "stripe"
    content_type: str = "application/json"


def operation(
    summary: str,
    *,
    tag: str,
    request: type[BaseModel] | None = None,
    responses: dict[int, ResponseSpec] | None = None,
    query: type[BaseModel] | None = None,
    auth: str | None = None,
    content_type: str = "application/json",
) -> Callable[[F], F]:
    """Attach OpenAPI facts to a handler. ``responses`` maps status to a model, a media type
    string for non-JSON bodies (e.g. ``"text/calendar"``), or None for an empty body."""

    def decorate(func: F) -> F:
        func.__openapi__ = Operation(  # type: ignore[attr-defined]
            summary, tag, request, responses or {}, query, auth, content_type
        )
        return func

    return decorate


# --- the error shape, shared by every operation -----------------------------------------------


class ErrorDetail(BaseModel):
    field: str = Field(description="The input field, dotted for nested fields.")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `slot_taken`.")
    message: str = Field(description="Human-readable, in the request's language.")
    details: list[ErrorDetail] | None = Field(
        default=None, description="Per-field problems of a validation error."
    )


class Error(BaseModel):
    """Every error response of the API has this shape."""

    error: ErrorBody


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "citizenLink": {
        "type": "http",
        "scheme": "bearer",
        "description": "The token of the citizen's appointment link: the last path segment "
        "of `{BUERO_BASE_URL}/t/{token}`.",
    },
    "staffToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A staff access token from `POST /api/v1/auth/token`. Admin operations "
        "need `role: admin`; clerk operations are limited to the clerk's offices.",
    },
    "stripeSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Stripe-Signature",
        "description": "Stripe's webhook signature over the raw body.",
    },
}
AUTH_SCHEMES = {
    "citizen": "citizenLink",
    "staff": "staffToken",
    "admin": "staffToken",
    "stripe": "stripeSignature",
}


# --- walking the routes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Documented:
    path: str  # as served, with Starlette convertors (``/x/{id:int}``)
    method: str  # lower case
    handler: Callable[..., Any]
    op: Operation
    param_types: dict[str, dict[str, Any]]


def _param_schema(convertor: object) -> dict[str, Any]:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number"}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _handlers(route: Route) -> Iterator[tuple[str, Callable[..., Any]]]:
    endpoint = route.endpoint
    if inspect.isclass(endpoint):  # an HTTPEndpoint: one method per verb
        for method in HTTP_METHODS:
            func = getattr(endpoint, method, None)
            if func is not None and (route.methods is None or method.upper() in route.methods):
                yield method, func
        return
    for method in sorted(m for m in (route.methods or {"GET"}) if m != "HEAD"):
        yield method.lower(), endpoint


def documented_operations(routes: Iterable[BaseRoute], prefix: str = "") -> list[Documented]:
    """Every handler under ``/api/v1`` that carries ``@operation`` metadata."""
    found: list[Documented] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(documented_operations(route.routes, prefix + route.path))
        elif isinstance(route, Route):
            path = prefix + route.path
            if not path.startswith(API_PREFIX):
                continue
            params = {name: _param_schema(c) for name, c in route.param_convertors.items()}
            for method, func in _handlers(route):
                op = getattr(func, "__openapi__", None)
                if isinstance(op, Operation):
                    found.append(Documented(path, method, func, op, params))
    return found


def undocumented_api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> list[str]:
    """``METHOD /path`` of API handlers that lack ``@operation`` (a test keeps this empty)."""
    missing: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            missing.extend(undocumented_api_routes(route.routes, prefix + route.path))
        elif isinstance(route, Route) and (prefix + route.path).startswith(API_PREFIX):
            for method, func in _handlers(route):
                if not isinstance(getattr(func, "__openapi__", None), Operation):
                    missing.append(f"{method.upper()} {prefix + route.path}")
    return missing


# --- schemas ----------------------------------------------------------------------------------


def _is_model(tp: object) -> TypeGuard[type[BaseModel]]:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


SchemaKey = tuple[type[BaseModel], JsonSchemaMode]


class _Schemas:
    """Collects models, then renders them once so shared sub-models get one component."""

    def __init__(self) -> None:
        self.models: dict[SchemaKey, None] = {}  # ordered set
        self.refs: dict[SchemaKey, dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def want(self, tp: object, mode: JsonSchemaMode) -> None:
        if _is_model(tp):
            self.models[(tp, mode)] = None
        for arg in get_args(tp):
            self.want(arg, mode)

    def build(self) -> None:
        keys = list(self.models)
        if not keys:
            return
        refs, top = models_json_schema(keys, ref_template=REF_TEMPLATE)
        self.refs = {(model, mode): value for (model, mode), value in refs.items()
                     if _is_model(model)}
        self.components.update(top.get("$defs", {}))

    def schema(self, tp: object, mode: JsonSchemaMode) -> dict[str, Any]:
        if _is_model(tp):
            return dict(self.refs[(tp, mode)])
        origin = get_origin(tp)
        args = get_args(tp)
        if origin in (list, tuple, set, frozenset) and len(args) >= 1 and _is_model(args[0]):
            return {"type": "array", "items": self.schema(args[0], mode)}
        adapter: TypeAdapter[Any] = TypeAdapter(tp)  # type: ignore[arg-type]
        result = adapter.json_schema(ref_template=REF_TEMPLATE, mode=mode)
        self.components.update(result.pop("$defs", {}))
        return result


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
    schemas.components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param: dict[str, Any] = {
            "name": name, "in": "query", "required": name in required, "schema": prop,
        }
        if description:
            param["description"] = description
        params.append(param)
    return params


def _media_schema(media_type: str) -> dict[str, Any]:
    if media_type.endswith("json"):
        return {"type": "object"}
    if media_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "contentMediaType": media_type}


def _response(status: int, spec: ResponseSpec, schemas: _Schemas) -> dict[str, Any]:
    try:
        description = HTTPStatus(status).phrase
    except ValueError:
        description = str(status)
    if spec is None and status >= 400:
        spec = Error
    if spec is None:
        return {"description": description}
    if isinstance(spec, str):
        return {"description": description, "content": {spec: {"schema": _media_schema(spec)}}}
    return {
        "description": description,
        "content": {"application/json": {"schema": schemas.schema(spec, "serialization")}},
    }


def _operation_id(item: Documented, taken: set[str]) -> str:
    base = item.handler.__name__
    module = getattr(item.handler, "__module__", "").rsplit(".", 1)[-1]
    candidate = base if base not in taken else f"{module}_{base}"
    n = 2
    while candidate in taken:
        candidate = f"{module}_{base}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _build_operation(
    item: Documented, schemas: _Schemas, taken: set[str]
) -> dict[str, Any]:
    op = item.op
    doc = inspect.getdoc(item.handler)
    result: dict[str, Any] = {
        "operationId": _operation_id(item, taken),
        "summary": op.summary,
        "tags": [op.tag],
    }
    if doc:
        result["description"] = doc
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in item.param_types.items()
    ]
    if op.query is not None:
        parameters.extend(_query_parameters(op.query, schemas))
    if parameters:
        result["parameters"] = parameters
    if op.request is not None:
        result["requestBody"] = {
            "required": True,
            "content": {op.content_type: {"schema": schemas.schema(op.request, "validation")}},
        }
    responses = {
        str(status): _response(status, spec, schemas)
        for status, spec in sorted(op.responses.items())
    }
    if not any(status < 300 for status in op.responses):
        responses.setdefault("200", {"description": "OK"})
    responses["default"] = _response(500, Error, schemas) | {
        "description": "Error (same shape for every status)"
    }
    result["responses"] = responses
    scheme = AUTH_SCHEMES.get(op.auth or "")
    if scheme:
        result["security"] = [{scheme: []}]
        if op.auth == "admin":
            result["description"] = (doc + "\n\n" if doc else "") + "Requires `role: admin`."
    return result


def _short_name(name: str, taken: set[str]) -> str:
    """pydantic names two models of the same name by their module paths
    (``app__api__admin_schemas__OfficeOut``); call it ``AdminOfficeOut`` instead."""
    parts = name.split("__")
    if len(parts) < 3:
        return name
    model, module = parts[-1], parts[-2]
    prefix = module.removesuffix("schemas").strip("_") or parts[-3]
    short = "".join(word.capitalize() for word in prefix.split("_")) + model
    return name if short in taken else short


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                REF_TEMPLATE.format(model=renames.get(value.rsplit("/", 1)[1],
                                                      value.rsplit("/", 1)[1]))
                if key == "$ref" and isinstance(value, str) and value.startswith("#/components/")
                else _rename_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _tidy_component_names(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    taken = {name for name in schemas if "__" not in name}
    renames: dict[str, str] = {}
    for name in sorted(schemas):
        if "__" in name:
            renames[name] = _short_name(name, taken)
            taken.add(renames[name])
    if not renames:
        return document
    document = _rename_refs(document, renames)
    document["components"]["schemas"] = dict(sorted(
        (renames.get(name, name), schema)
        for name, schema in document["components"]["schemas"].items()
    ))
    return document


def build_spec(
    routes: Iterable[BaseRoute],
    *,
    title: str = "Bürgerbüro per Video API",
    version: str = "1",
    server_url: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every ``@operation`` handler under ``/api/v1``."""
    items = documented_operations(routes)
    schemas = _Schemas()
    schemas.want(Error, "serialization")
    for item in items:
        if item.op.request is not None:
            schemas.want(item.op.request, "validation")
        for body in item.op.responses.values():
            if body is not None and not isinstance(body, str):
                schemas.want(body, "serialization")
    schemas.build()

    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    tags: dict[str, None] = {}
    for item in sorted(items, key=lambda i: (i.path, i.method)):
        built = _build_operation(item, schemas, taken)
        paths.setdefault(_openapi_path(item.path), {})[item.method] = built
        tags[item.op.tag] = None

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "JSON API of the video citizen office. Times are ISO 8601 with a "
            "UTC offset, dates `YYYY-MM-DD`, money integer cents with `currency`. Errors "
            "always have the `Error` shape.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "tags": [{"name": name} for name in tags],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return _tidy_component_names(document)
