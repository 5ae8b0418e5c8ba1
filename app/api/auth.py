"""Staff API login: bearer tokens for ``/api/v1`` staff endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.api.admin_schemas import MeOut, TokenOut, TokenRequest
from app.api.http import read_json
from app.api.login import login
from app.api.openapi import operation
from app.api.routing import ID
from app.auth import api_token_logout, require_api_user
from app.context import ctx
from staff import totp
from staff.service import get_user, staff_actor, user_office_ids


@operation(
    "Log in and get a bearer token",
    tag="auth",
    request=TokenRequest,
    responses={200: TokenOut, 401: None, 403: None, 422: None, 429: None},
)
async def create_token(request: Request) -> Response:
    body = await read_json(request, TokenRequest)
    user, new = await login(request, body.email, body.password, kind="api", otp=body.otp)
    out = TokenOut(access_token=new.token, expires_at=new.expires_at, role=user.role)
    return JSONResponse(out.model_dump(mode="json"))


@operation("Log out: revoke this bearer token", tag="auth", responses={204: None, 401: None},
           auth="staff")
async def delete_token(request: Request) -> Response:
    await require_api_user(request, role="any")
    await api_token_logout(request)
    return Response(status_code=204)


@operation("The logged-in staff user", tag="auth", responses={200: MeOut, 401: None},
           auth="staff")
async def me(request: Request) -> Response:
    user = await require_api_user(request, role="any")
    assert user.id is not None
    async with ctx(request).db.transaction() as session:
        offices = (await user_office_ids(session, [user.id])).get(user.id, [])
    out = MeOut(id=user.id, email=user.email, display_name=user.display_name, role=user.role,
                office_ids=offices)
    return JSONResponse(out.model_dump(mode="json"))


@operation("Admin: remove a staff user's second factor (they set it up again at their next "
           "sign-in; their logins end)", tag="admin", responses={204: None, 401: None, 403: None,
                                                                  404: None}, auth="admin")
async def reset_second_factor(request: Request) -> Response:
    admin = await require_api_user(request, role="admin")
    user_id = request.path_params["id"]
    async with ctx(request).db.transaction(write=True) as session:
        await get_user(session, user_id)
        await totp.reset(session, staff_actor(admin), user_id)
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/api/v1/auth/token", create_token, methods=["POST"]),
    Route("/api/v1/auth/token", delete_token, methods=["DELETE"]),
    Route("/api/v1/auth/me", me, methods=["GET"]),
    Route(f"/api/v1/admin/users/{ID}/totp", reset_second_factor, methods=["DELETE"]),
]
