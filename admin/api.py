"""The admin API (/admin/api/v1): one router per resource, gathered here.

Other features add their router with one line below (cases, meetings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from admin.routes import (
    audit,
    cases,
    categories,
    contacts,
    keys,
    meetings,
    organizations,
    services,
    synonyms,
    transfer,
)
from admin.validation import refuse_unstorable


def make_admin_router() -> APIRouter:
    """A fresh router tree per app (routers hold no state, but tests build many apps)."""
    # Text the database cannot store (NUL...) is a 422 on every route, not a 500 on some.
    router = APIRouter(prefix="/admin/api/v1", dependencies=[Depends(refuse_unstorable)])
    for module in (organizations, services, contacts, categories, synonyms, keys, audit, transfer):
        router.include_router(module.router)
    router.include_router(cases.router)  # coordinators' cases
    router.include_router(meetings.router)  # meetings and their SMS reminders
    return router
