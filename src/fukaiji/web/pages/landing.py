"""The landing page: what the system is, for whoever opens it first."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fukaiji.web.templating import templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def landing_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "landing.html")
