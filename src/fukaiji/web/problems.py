"""Errors as RFC 9457 problem details, with Japanese ``title`` and ``detail``.

No handler ever echoes internals: an unexpected error becomes a plain 500 problem, and the
exception goes to the server log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("fukaiji.web")

_STATUS_TITLES = {
    400: "リクエストが正しくありません",
    401: "ログインが必要です",
    403: "この操作は許可されていません",
    404: "見つかりません",
    405: "このメソッドは使えません",
    409: "現在の状態ではこの操作はできません",
    422: "入力に誤りがあります",
    500: "サーバー内部でエラーが発生しました",
}


class FieldError(BaseModel):
    field: str = Field(description="誤りのある項目 (dotted location)")
    message: str = Field(description="誤りの内容 (what is wrong and the rule)")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raise to answer with a problem; the web layer's one way of refusing."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        slug: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail)
        # A refusal whose audit entry (or failure counter) must be committed, not rolled back.
        self.keep_changes = keep_changes
        self.status = status
        self.detail = detail
        self.title = title or _STATUS_TITLES.get(status, "エラー")
        self.type = f"/problems/{slug}" if slug else "about:blank"
        self.errors = errors
        self.headers = headers


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    body = ProblemDetails(
        type=problem.type,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        errors=problem.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ProblemDetails,
        "description": title,
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
        },
    }
    for status, title in _STATUS_TITLES.items()
    if status in (400, 401, 403, 404, 409, 422)
}


def _validation_problem(error: RequestValidationError) -> Problem:
    errors = [
        FieldError(
            field=".".join(str(part) for part in item["loc"]),
            message=f"{item['msg']} ({item['type']})",
        )
        for item in error.errors()
    ]
    return Problem(422, "入力に誤りがあります。各項目の内容を確認してください。", errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(problem, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(_validation_problem(error), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = _STATUS_TITLES.get(error.status_code, str(error.detail))
        return problem_response(Problem(error.status_code, detail), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            Problem(
                500,
                "しばらくしてから再度お試しください。問題が続く場合は管理者に連絡してください。",
            ),
            request,
        )
