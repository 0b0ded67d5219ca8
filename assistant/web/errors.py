"""Every error the HTTP API answers, in one place: which status each failure is, and the body
it goes out in. Under /v1 that is OpenAI's shape, {"error": {"message", "type", "code",
"param"}}, which OpenAI clients parse into their exceptions; everywhere else the project's
{"error": {"code", "message"}}. Messages are "中文 / English"."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from .app_state import NotReady
from ..knowledge_base import UploadError
from ..service import QuestionError
from ..wellformed import INVALID_TEXT, INVALID_TEXT_MESSAGE

# The statuses Starlette and FastAPI raise themselves; 400 is a body that cannot be parsed.
HTTP_ERRORS = {
    400: ("invalid_body", "请求体无法解析，应为 UTF-8 编码的 JSON / the request body could not be parsed: send UTF-8 JSON"),
    404: ("not_found", "没有这个接口 / no such endpoint"),
    405: ("method_not_allowed", "该接口不支持这种请求方法 / method not allowed"),
}
OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}
INTERNAL = "服务器内部错误 / internal server error"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def error_response(path: str, status: int, code: str, message: str, param: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    """The error in the shape of the API that `path` belongs to."""
    if path == "/v1" or path.startswith("/v1/"):
        kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        body = {"error": {"message": message, "type": kind, "code": code, "param": param}}
    else:
        body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def as_api_error(exc: Exception) -> ApiError:
    """The status, code and message of a failure."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QuestionError):
        return ApiError(422, "invalid_question", str(exc))
    if isinstance(exc, RequestValidationError):
        return _invalid_request(exc.errors())
    if isinstance(exc, NotReady):
        return ApiError(503, "not_ready", str(exc))
    if isinstance(exc, UploadError):
        return ApiError(exc.status, "invalid_upload", str(exc))
    if isinstance(exc, HTTPException):
        code, message = HTTP_ERRORS.get(exc.status_code, ("http_error", f"请求无法处理 / {exc.detail}"))
        return ApiError(exc.status_code, code, message)
    return ApiError(500, "internal_error", INTERNAL)


def _invalid_request(errors: list[dict]) -> ApiError:
    if any(e["type"] == INVALID_TEXT for e in errors):
        return ApiError(422, INVALID_TEXT, INVALID_TEXT_MESSAGE)
    fields = [".".join(str(p) for p in e["loc"][1:]) for e in errors]
    detail = "; ".join(f"{field}: {e['msg']}" if field else e["msg"] for field, e in zip(fields, errors))
    return ApiError(422, "invalid_request", f"请求格式错误 / invalid request: {detail}", fields[0] if fields else None)


def install(app: FastAPI) -> None:
    """The handlers, and a last route under /api and /v1 so that an unknown path or a wrong
    method is answered here rather than by the web UI mounted at "/". Call after the routers."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        error = as_api_error(exc)
        headers = getattr(exc, "headers", None)
        return error_response(request.scope["path"], error.status, error.code, error.message, error.param, headers)

    for kind in (ApiError, QuestionError, RequestValidationError, NotReady, UploadError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)

    def unmatched(request: Request):
        allowed = [method for method in METHODS if _routed({**request.scope, "method": method})]
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise HTTPException(404)

    def _routed(scope: dict) -> bool:
        """Whether a route before these last ones takes `scope`."""
        for route in app.router.routes:
            if getattr(route, "endpoint", None) is unmatched:
                return False
            if route.matches(scope)[0] == Match.FULL:
                return True
        return False

    for prefix in ("/api", "/v1"):
        app.add_api_route(prefix + "/{rest:path}", unmatched, include_in_schema=False, methods=METHODS)
