"""Operations endpoints: /healthz (alive), /readyz (may take traffic), /metrics (Prometheus).

/metrics sits behind `Authorization: Bearer <METRICS_TOKEN>` when that setting is set (401
otherwise) and is open when it is unset: set it in production. Scrape each instance on its
own address: behind a load balancer a scrape would reach any one of them.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from bot.context import AppContext, get_ctx
from bot.ops import metrics
from bot.ops.readiness import readiness
from bot.sms.sms_models import OutboundStatus
from bot.sms.sms_queue import count_by_status
from handlers.request_log import RequestRecorder

log = logging.getLogger(__name__)
Ctx = Annotated[AppContext, Depends(get_ctx)]
INDEX_LOAD_S = 20.0  # a first load reads the directory and builds the matcher (and encoder)
QUEUE_S = 2.0  # the queue count must not hold a scrape up
QUEUED = (OutboundStatus.pending, OutboundStatus.claimed, OutboundStatus.failed)


class Readiness(BaseModel):
    status: str  # "ready" or "not ready"
    checks: dict[str, str]  # each check and its state ("ok" when it passes)


async def _index_loaded(ctx: AppContext) -> bool:
    """Load the directory index if nothing has yet (the first probe after a start, or after
    a load that failed), so an instance behind a prober becomes ready without a message."""
    if ctx.directory.loaded:
        return True
    try:
        async with asyncio.timeout(INDEX_LOAD_S):
            await ctx.directory.get()
    except Exception as error:  # whatever failed, the answer is "not ready", never a 500
        log.warning("readyz: directory index not loaded (%s)", type(error).__name__)
    return ctx.directory.loaded


def _authorised(ctx: AppContext, header: str | None) -> bool:
    secret = ctx.settings.metrics_token
    expected = secret.get_secret_value() if secret is not None else ""
    if not expected:  # unset (or empty): open, as documented
        return True
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


async def _sms_queue(ctx: AppContext) -> list[GaugeMetricFamily]:
    """SMS rows by status, counted now (a gauge kept per process could not be added up)."""
    family = GaugeMetricFamily(
        metrics.PREFIX + "sms_queue", "Queued SMS by status, counted at scrape", labels=["status"]
    )
    try:
        async with asyncio.timeout(QUEUE_S), ctx.sessions() as session:
            counts = await count_by_status(session=session, statuses=QUEUED)
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("metrics: SMS queue not counted (%s)", type(error).__name__)
        return []
    for status, count in counts.items():
        family.add_metric([status.value], count)
    return [family]


def make_router() -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness probe: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", responses={200: {"model": Readiness}, 503: {"model": Readiness}})
    async def readyz(ctx: Ctx) -> JSONResponse:
        """Readiness: database reachable, migrations at head, directory index loaded."""
        loaded = await _index_loaded(ctx)
        checks = await readiness(ctx.engine, index_loaded=loaded)
        ready = all(state == "ok" for state in checks.values())
        body = Readiness(status="ready" if ready else "not ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @router.get("/metrics", include_in_schema=False)
    async def prometheus(ctx: Ctx, authorization: str | None = Header(None)) -> Response:
        """Prometheus text exposition (behind METRICS_TOKEN when it is set)."""
        if not _authorised(ctx, authorization):
            raise HTTPException(401, "metrics need a bearer token", {"WWW-Authenticate": "Bearer"})
        body = metrics.exposition(await _sms_queue(ctx))
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return router


def install(app: FastAPI) -> None:
    """The ops routes, and the request log and metrics around every request (call it last:
    the middleware added last runs first)."""
    app.include_router(make_router())
    app.add_middleware(RequestRecorder, routes=app.routes)
