"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text

from fukaiji import __version__
from fukaiji.config import Settings, load_settings
from fukaiji.db import create_db_engine
from fukaiji.portal import public_ids
from fukaiji.web.api import api_router
from fukaiji.web.domain_errors import install_domain_error_handlers
from fukaiji.web.pages import admin as admin_pages
from fukaiji.web.pages import business as business_pages
from fukaiji.web.pages import cards as card_pages
from fukaiji.web.pages import desk as desk_pages
from fukaiji.web.pages import landing, staff_home
from fukaiji.web.pages import notices as notice_pages
from fukaiji.web.pages import portal as portal_pages
from fukaiji.web.pages._common import install_page_handlers
from fukaiji.web.problems import install_problem_handlers
from fukaiji.web.security import install_security_headers

STATIC_DIRECTORY = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or load_settings()
    owns_engine = engine is None
    engine = engine or create_db_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="fukaiji",
        summary="マイナンバー情報連携・マイナポータルと不開示措置",
        version=__version__,
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN and inline code, which the CSP forbids.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    public_ids.configure(settings.derive_key(public_ids.KEY_PURPOSE))
    install_problem_handlers(app)
    install_domain_error_handlers(app)
    install_security_headers(app, production=settings.env == "production")
    install_page_handlers(app)  # after the API's handlers, which it wraps for the screens
    app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")

    @app.get("/healthz", tags=["system"], summary="稼働確認 (health check)")
    def healthz() -> dict[str, str]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    app.include_router(landing.router)
    app.include_router(staff_home.router)
    app.include_router(desk_pages.router)
    app.include_router(business_pages.router)
    app.include_router(portal_pages.router)
    app.include_router(card_pages.router)
    app.include_router(notice_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(api_router())
    return app
