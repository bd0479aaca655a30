"""Service vectors for dense ranking: computed when a service is written, stored beside it.

A service's vector encodes what a parent's question is compared with: its name, summary,
description, keywords and ages (e5's "passage:" side). Every write path (admin edits, CSV and
HSDS imports, the bundled seed) calls `store_vectors` for the services it wrote, so the index
reads stored vectors and never encodes the whole directory when it starts. `fill_missing`
covers rows written some other way (or before this existed, or for another encoder), once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from directory.encoder import Encoder
from directory.models import Service, ServiceVector

log = logging.getLogger(__name__)


class Describable(Protocol):
    """What the vector text is made of (a Service row or a ServiceCard)."""

    name: str
    summary: str
    description: str
    min_age: int
    max_age: int

    @property
    def keywords(self) -> Sequence[str]: ...


def vector_text(service: Describable) -> str:
    """The text a service's vector encodes (one passage: e5-small reads 512 tokens)."""
    keywords = ", ".join(service.keywords)
    return (
        f"{service.name}: {service.summary} {service.description} "
        f"Nyckelord: {keywords}. Ålder {service.min_age}-{service.max_age} år."
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(raw: bytes, dim: int) -> np.ndarray | None:
    vector = np.frombuffer(raw, dtype="<f4")
    return vector if vector.shape == (dim,) else None


async def store_vectors(
    *,
    session: AsyncSession,
    encoder: Encoder | None,
    services: Sequence[Service],
    now: datetime,
) -> int:
    """(Re)compute the vectors of these services where their text or the encoder changed.

    Runs in the caller's transaction (the caller commits); returns how many were encoded.
    """
    if encoder is None or not services:
        return 0
    ids = [s.id for s in services]
    stored = {
        v.service_id: v
        for v in (
            await session.exec(select(ServiceVector).where(col(ServiceVector.service_id).in_(ids)))
        ).all()
    }
    todo: list[tuple[Service, str, str]] = []
    for service in services:
        text = vector_text(service)
        digest = text_hash(text)
        old = stored.get(service.id)
        if old is None or old.text_hash != digest or old.encoder != encoder.name:
            todo.append((service, text, digest))
    if not todo:
        return 0
    # Encoding is CPU work: in a thread, so other requests go on meanwhile.
    vectors = await asyncio.to_thread(encoder.passage, [text for _, text, _ in todo])
    for (service, _, digest), vector in zip(todo, vectors, strict=True):
        row = stored.get(service.id) or ServiceVector(
            service_id=service.id,
            encoder=encoder.name,
            text_hash=digest,
            vector=b"",
            updated_at=now,
        )
        row.encoder, row.text_hash, row.updated_at = encoder.name, digest, now
        row.vector = to_bytes(vector)
        session.add(row)
    await session.flush()
    return len(todo)


async def store_vectors_for(
    *, session: AsyncSession, encoder: Encoder | None, ids: Sequence[str], now: datetime
) -> int:
    """`store_vectors` for services named by id (an import's written rows)."""
    if encoder is None or not ids:
        return 0
    services = (await session.exec(select(Service).where(col(Service.id).in_(ids)))).all()
    return await store_vectors(session=session, encoder=encoder, services=services, now=now)


async def load_vectors(*, session: AsyncSession, encoder: Encoder) -> dict[str, np.ndarray]:
    """service id -> stored vector, for vectors this encoder made."""
    statement = select(ServiceVector.service_id, ServiceVector.vector).where(
        ServiceVector.encoder == encoder.name
    )
    vectors: dict[str, np.ndarray] = {}
    for service_id, raw in (await session.exec(statement)).all():
        vector = from_bytes(raw, encoder.dim)
        if vector is not None:
            vectors[service_id] = vector
    return vectors


async def fill_missing(
    *, session: AsyncSession, encoder: Encoder, missing: Sequence[str], now: datetime
) -> int:
    """Compute and store the vectors of services that have none yet (and commit)."""
    count = await store_vectors_for(session=session, encoder=encoder, ids=missing, now=now)
    await session.commit()
    log.info("computed %d missing service vectors", count)
    return count
