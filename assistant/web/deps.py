"""What FastAPI hands a route: the app's `AppState`, and the admin check. The routers are
module-level; the state is the one create_app put on the application it serves."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from .app_state import AppState
from .errors import ApiError


def get_state(request: Request) -> AppState:
    return request.app.state.policyqa


State = Annotated[AppState, Depends(get_state)]


def require_admin(state: State, authorization: str = Header(default="")) -> None:
    """Bearer token check for knowledge-base changes."""
    scheme, _, token = authorization.partition(" ")
    refusal = state.admin_refusal(token)
    if refusal == "read_only":
        raise ApiError(403, "read_only", "知识库为只读：服务器未设置 POLICYQA_ADMIN_TOKEN / "
                                         "the knowledge base is read-only: no admin token is configured")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "需要管理员口令：Authorization: Bearer <token> / admin token required")
    if refusal:
        raise ApiError(403, "forbidden", "管理员口令错误 / wrong admin token")
