"""Shared builders for table rows in tests.

Tables take every timestamp from the caller (no wall-clock defaults), so tests build rows
at the FakeClock's time and stay correct on any real date.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import SQLModel

from bot.cases.case_models import SupportCase
from bot.core.models import Conversation
from directory.matcher import Matcher
from directory.matching import ServiceCard
from directory.models import ContactPoint, Organization, Service
from directory.municipalities import MunicipalityResolver
from directory.synonyms import load_bundled_synonyms
from directory.triage import Triage
from directory.urgency import UrgencyRules

Row = TypeVar("Row", bound=SQLModel)
# Columns that mean "when this row was made or last touched"; each model has some of them.
_STAMPS = ("created_at", "updated_at", "last_message_at", "last_activity_at")


def stamped(model: type[Row], at: datetime, **fields: Any) -> Row:
    """A row of `model` whose timestamps are all `at` (explicit fields win)."""
    stamps = {name: at for name in _STAMPS if name in model.model_fields}
    return model(**{**stamps, **fields})


def conversation(at: datetime, **fields: Any) -> Conversation:
    return stamped(Conversation, at, **fields)


def support_case(at: datetime, **fields: Any) -> SupportCase:
    return stamped(SupportCase, at, **fields)


def service(at: datetime, **fields: Any) -> Service:
    return stamped(Service, at, **fields)


def organization(at: datetime, **fields: Any) -> Organization:
    return stamped(Organization, at, **fields)


def contact(at: datetime, **fields: Any) -> ContactPoint:
    return stamped(ContactPoint, at, **fields)


def card(name: str, *, keywords: tuple[str, ...] = (), description: str = "", **kw) -> ServiceCard:
    base = ServiceCard(
        id=name.lower().replace(" ", "-"),
        name=name,
        summary="",
        description=description,
        scope="municipality",
        municipalities=("Degerfors",),
        region=None,
        min_age=0,
        max_age=20,
        access="open",
        access_note="",
        cost="",
        categories=(),
        keywords=keywords,
        contacts=(),
        url=None,
        verified=False,
        urgent_service=False,
        assured_date=None,
    )
    return replace(base, **kw)


SMALL_DIRECTORY = [  # a small directory for the matcher's own tests
    card("Familjeguiden", keywords=("vet inte vart jag ska vända mig", "lots")),
    card(
        "Elevhälsan", keywords=("skolfrånvaro", "kurator", "skolsköterska"), min_age=6, max_age=19
    ),
    card(
        "Barn- och ungdomspsykiatrin (BUP)",
        keywords=("ätstörning", "tvångstankar", "depression"),
        scope="national",
        municipalities=(),
        max_age=17,
    ),
    card("Fritidsgården Osby", keywords=("fritid", "kompisar"), municipalities=("Osby",)),
    card("Stödgrupp Degerfors", keywords=("alkoholproblem", "missbruk i familjen", "stödgrupp")),
    card("Sociala insatsgrupper (SIG)", keywords=("kriminalitet", "gäng"), min_age=13),
    card("SOS Alarm 112", keywords=("livsfara", "nödnummer"), scope="national", municipalities=()),
    card(
        "Kvinnofridslinjen",
        keywords=("våld i nära relationer",),
        scope="national",
        municipalities=(),
    ),
]


def small_matcher() -> Matcher:
    """A Matcher over SMALL_DIRECTORY with the bundled synonyms and the rules alone."""
    return Matcher.build(
        SMALL_DIRECTORY,
        synonyms=load_bundled_synonyms(),
        resolver=MunicipalityResolver.load(),
        triage=Triage(UrgencyRules.load()),
        default_municipality="Degerfors",
    )


async def chat(client: httpx.AsyncClient, text: str, cid: str | None = None, **extra: Any) -> dict:
    """One web chat turn through POST /api/chat; the answer's JSON."""
    response = await client.post("/api/chat", json={"conversation_id": cid, "text": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


@contextlib.asynccontextmanager
async def on_loopback(server: uvicorn.Server) -> AsyncIterator[str]:
    """uvicorn serving on a free loopback port in this event loop, bound before it starts
    (requests wait in the backlog: no polling): its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app's lifespan (seed, Telegram start-up), and uvicorn serving HTTP on a free
    loopback port in this event loop: its base URL (browser tests)."""
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    async with app.router.lifespan_context(app), on_loopback(server) as url:
        yield url
