"""Institutions and their departments: public facts, readable by every authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from fukaiji.network import institutions as service
from fukaiji.network.models import InstitutionKind
from fukaiji.web.api.views import DepartmentView, InstitutionView
from fukaiji.web.deps import Database

router = APIRouter(tags=["institutions"])


class InstitutionPage(BaseModel):
    total: int
    items: list[InstitutionView]


class InstitutionDetail(InstitutionView):
    departments: list[DepartmentView]


@router.get("/institutions", response_model=InstitutionPage, summary="機関の一覧")
def list_institutions(
    session: Database,
    kind: InstitutionKind | None = None,
    prefecture_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    q: Annotated[
        str | None,
        Query(max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$", description="名称の一部"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> InstitutionPage:
    page, total = service.list_institutions(
        session,
        kind=kind,
        prefecture_code=prefecture_code,
        name_contains=q,
        limit=limit,
        offset=offset,
    )
    return InstitutionPage(total=total, items=[InstitutionView.of(item) for item in page])


@router.get("/institutions/{code}", response_model=InstitutionDetail, summary="機関と部署")
def show_institution(code: str, session: Database) -> InstitutionDetail:
    institution = service.get_institution(session, code)
    return InstitutionDetail(
        **InstitutionView.of(institution).model_dump(),
        departments=[DepartmentView.of(d) for d in institution.departments],
    )
