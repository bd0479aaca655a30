"""A database that is briefly away (PostgreSQL restarted or failed over, connections ended,
the pool exhausted) answers 503 with Retry-After, not an unhandled error.

Why it matters behind nginx: an error that escapes the app makes uvicorn send a 500 and
close the connection; nginx may already be sending the next request on that kept-alive
connection, which is then reset: a POST cannot be passed on (it was sent), the client gets
a 502, and nginx counts a failure against an instance that is fine. Handled here, the
connection stays open and the next request, on a fresh database connection (the pool pings
before use), is answered. The message is normally not stored (its transaction did not
commit); only a connection lost during the commit itself leaves that unknown.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = 1


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503: try again shortly. The log names the error class only: a driver's message may
    quote the connection string, and the path may hold a conversation id."""
    cause = getattr(exc, "orig", None) or exc
    log.warning("database unavailable (%s): %s answered 503", type(cause).__name__, request.method)
    return JSONResponse(
        {"detail": "the database is unavailable: try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install(app: FastAPI) -> None:
    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, database_unavailable)
