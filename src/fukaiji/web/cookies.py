"""Session cookies and CSRF tokens, shared by the staff frame and the resident portal.

Both keep their session in an HttpOnly, SameSite=Strict cookie (Secure outside development), each
under its own name, and both ask for the session's CSRF token in the ``X-CSRF-Token`` header on
every unsafe request.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Response

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secure_cookies(request: Request) -> bool:
    """Cookies travel over HTTPS only, except in development on a laptop."""
    return request.app.state.settings.env != "development"


def set_session_cookie(response: Response, name: str, token: str, *, secure: bool) -> None:
    response.set_cookie(name, token, httponly=True, samesite="strict", secure=secure, path="/")


def clear_session_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/")


def needs_csrf_token(request: Request) -> bool:
    return request.method not in SAFE_METHODS


def csrf_token_matches(request: Request, expected: str | None) -> bool:
    """Whether the request carries the session's CSRF token (compared in constant time)."""
    presented = request.headers.get(CSRF_HEADER, "")
    return bool(presented) and hmac.compare_digest(presented.encode(), (expected or "").encode())
