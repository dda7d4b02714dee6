"""The JSON API under ``/api/v1``.

Every route is behind authentication by default: the protected router carries the dependency,
so a route added later cannot forget it. Only the staff login and the portal's login challenge
and login are public; the portal's resident routes carry the portal's own card authentication.
"""

from fastapi import APIRouter, Depends

from fukaiji.web.api import (
    auth,
    cards,
    institutions,
    linkage,
    notices,
    portal,
    portal_views,
    protection,
    residents,
    staff,
)
from fukaiji.web.deps import authenticated
from fukaiji.web.problems import PROBLEM_RESPONSES

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
    router.include_router(auth.public_router)
    # マイナポータル: its own (card) authentication, never the staff one.
    router.include_router(portal.public_router)
    router.include_router(portal.router)
    router.include_router(portal_views.router)
    protected = APIRouter(dependencies=[Depends(authenticated)])
    protected.include_router(auth.router)
    protected.include_router(institutions.router)
    protected.include_router(staff.router)
    protected.include_router(residents.router)
    protected.include_router(cards.router)
    protected.include_router(cards.authority_router)
    protected.include_router(linkage.router)
    protected.include_router(portal.staff_router)
    protected.include_router(protection.router)
    protected.include_router(notices.router)
    router.include_router(protected)
    return router
