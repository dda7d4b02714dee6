"""What the API modules that take files and free text share: a CSV request body read no further
than a size limit (413 beyond it), its OpenAPI description, the patterns that keep control
characters (NUL above all) out of stored text, and the staff member as the services see them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from fukaiji.protection.service import Viewer
from fukaiji.web.deps import Principal
from fukaiji.web.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemDetails

MAX_CSV_BYTES = 16 * 1024 * 1024
CSV_SHAPE = "CSV (見出しに「団体内統合宛名番号」の列; UTF-8 または CP932)"
# Free text is stored as typed; control characters are refused, not stored.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        principal.institution_id,
        principal.institution_code,
        principal.department_id,
        principal.actor,
    )


def too_large(limit_bytes: int = MAX_CSV_BYTES) -> Problem:
    limit = limit_bytes // (1024 * 1024)
    return Problem(
        413,
        f"ファイルが大きすぎます。上限は {limit} MiB です (the file exceeds {limit} MiB)",
        title="ファイルが大きすぎます",
        slug="too-large",
    )


def csv_body(limit_bytes: int = MAX_CSV_BYTES) -> Callable[[Request], Awaitable[bytes]]:
    """A dependency giving the request body, read no further than ``limit_bytes``."""

    async def _read(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit_bytes:
            raise too_large(limit_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit_bytes:
                raise too_large(limit_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    return _read


def csv_request_body(description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is a CSV file."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ProblemDetails,
        "description": "ファイルが大きすぎます",
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
        },
    }
}
