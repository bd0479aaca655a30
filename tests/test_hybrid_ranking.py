# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Hybrid ranking: stored service vectors, the fusion model, and what triage changes.

Runs the product's path (admin API, DirectoryIndex, Matcher) with the bundled e5 encoder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from sqlmodel import select

from directory.encoder import load_encoder
from directory.index import DirectoryIndex
from directory.matching import Query
from directory.models import Service, ServiceVector
from directory.ranking import FEATURES, RankingModel
from directory.seed import load_bundled_directory
from directory.vectors import text_hash, vector_text
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401
from tests.factories import chat


async def _stored(env: AdminEnv, service_id: str) -> ServiceVector | None:
    async with env.app.state.ctx.sessions() as session:
        statement = select(ServiceVector).where(ServiceVector.service_id == service_id)
        return (await session.exec(statement)).first()


async def _names(app: FastAPI, text: str, **query: object) -> list[str]:
    """The bundled directory's ranking through the app's index."""
    matcher = await app.state.ctx.directory.get()
    result = matcher.match(Query(text=text, **query))  # type: ignore[arg-type]
    return [hit.service.name for hit in result.hits]


async def test_vectors_are_stored_on_create_and_recomputed_when_the_text_changes(
    admin_env: AdminEnv,
) -> None:
    created = await admin_env.create_service(
        name="Läxhjälpen",
        summary="Läxhjälp efter skolan för barn som har svårt med matte och läsning.",
        keywords=["läxhjälp", "läxor"],
        min_age=7,
        max_age=15,
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    first = await _stored(admin_env, sid)
    assert first is not None and first.encoder == load_encoder("e5").name  # type: ignore[union-attr]
    assert len(first.vector) == 4 * 384
    url = f"{API}/services/{sid}"
    headers = admin_env.auth("editor", etag='"1"')
    # A field outside the vector's text (cost): the vector stays as it was.
    costed = await admin_env.client.patch(url, json={"cost": "Gratis"}, headers=headers)
    assert costed.status_code == 200
    kept = await _stored(admin_env, sid)
    assert kept is not None and kept.text_hash == first.text_hash and kept.vector == first.vector
    # The summary changes what the service is about: a new vector, found by meaning at once.
    headers = admin_env.auth("editor", etag='"2"')
    summary = "Samtalsstöd för tonåringar som är ensamma och saknar kompisar."
    changed = await admin_env.client.patch(url, json={"summary": summary}, headers=headers)
    assert changed.status_code == 200
    fresh = await _stored(admin_env, sid)
    assert fresh is not None and fresh.text_hash != first.text_hash
    async with admin_env.app.state.ctx.sessions() as session:
        row = await session.get(Service, sid)
        assert row is not None and fresh.text_hash == text_hash(vector_text(row))
    stored = np.frombuffer(fresh.vector, dtype="<f4")
    assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-3


async def test_the_bundled_directory_is_seeded_with_its_vectors(app: FastAPI) -> None:
    async with app.state.ctx.sessions() as session:
        services = (await session.exec(select(Service))).all()
        vectors = (await session.exec(select(ServiceVector))).all()
    assert services and {v.service_id for v in vectors} == {s.id for s in services}


async def test_a_service_without_a_vector_gets_one_when_the_index_is_built(app: FastAPI) -> None:
    """Rows written around the write paths (an old database, a manual fix) are healed once."""
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        victim = (await session.exec(select(ServiceVector))).first()
        assert victim is not None
        sid = victim.service_id
        await session.delete(victim)
        await session.commit()
    # Another instance starting on this database builds its index and heals the row.
    index = DirectoryIndex(ctx.sessions, default_municipality="Degerfors", clock=ctx.clock)
    matcher = await index.get()
    async with ctx.sessions() as session:
        assert await session.get(ServiceVector, sid) is not None
    assert matcher.vectors is not None and not np.all(matcher.vectors == 0, axis=1).any()


@pytest.mark.parametrize(
    "text",
    [
        "var finns närmaste barnakut? inte akut nu",
        "jag skrattar ihjäl mig åt min treåring, hon pratar hela tiden",
        "Min son är blyg och vågar inte prata med andra barn",
        "Polisen ringde, vår son har snott en jacka. Vad gör vi nu?",
    ],
)
async def test_only_an_urgent_message_lists_the_emergency_line(app: FastAPI, text: str) -> None:
    """No danger: a danger word must not bring 112 up. Caution: the reply's first line says
    to call 112, and the list holds the services that fit."""
    matcher = await app.state.ctx.directory.get()
    result = matcher.match(Query(text=text, municipality="Degerfors"), limit=8)
    assert not result.urgent
    assert "SOS Alarm 112" not in [h.service.name for h in result.hits]


async def test_an_acute_message_still_puts_the_emergency_line_first(app: FastAPI) -> None:
    text = "Min dotter har tagit en massa tabletter och svarar inte"
    assert (await _names(app, text, municipality="Degerfors"))[0] == "SOS Alarm 112"


TWINS = [
    ("Min pappa dricker för mycket och jag är 10 år", "My dad drinks too much and I am 10"),
    ("Vår son vägrar gå till skolan", "Our son refuses to go to school"),
    ("Min dotter har en ätstörning, hon är 15", "My daughter has an eating disorder, she is 15"),
]


@pytest.mark.parametrize(("swedish", "english"), TWINS)
async def test_english_questions_rank_like_their_swedish_twins(
    app: FastAPI, swedish: str, english: str
) -> None:
    sv = await _names(app, swedish, municipality="Degerfors")
    en = await _names(app, english, municipality="Degerfors")
    assert sv[0] in en[:2] and en[0] in sv[:3]


async def test_english_answers_use_the_english_summaries(client) -> None:
    reply = await chat(client, "My dad drinks too much and I am 10, who can I talk to?")
    text = "\n".join(m["text"] for m in reply["messages"])
    bundled = {s.service.name: s.service for s in load_bundled_directory().services}
    listed = [bundled[s["name"]] for s in reply["services"]]
    assert listed and all(s.summary_en in text and s.summary not in text for s in listed)


def test_every_bundled_service_has_an_english_summary() -> None:
    for entry in load_bundled_directory().services:
        assert entry.service.summary_en.strip(), entry.service.name
        assert len(entry.service.summary_en) <= 300


async def test_familjeguiden_is_offered_as_a_person_not_listed(client) -> None:
    text = "Jag vet inte vart jag ska vända mig. Kan någon hjälpa mig att hitta rätt stöd?"
    reply = await chat(client, text, municipality="Degerfors")
    names = [s["name"] for s in reply["services"]]
    assert "Familjeguiden" not in names
    body = "\n".join(m["text"] for m in reply["messages"])
    assert "lots" in body.lower() and ". Familjeguiden\n" not in body
    assert any(b["action"] == "handoff" for m in reply["messages"] for b in m["buttons"])


def test_the_ranking_model_names_its_features_and_refuses_others(tmp_path: Path) -> None:
    model = RankingModel.load()
    assert len(model.weights) == len(FEATURES) and 0.0 <= model.confident_at < 1.0
    data = json.loads(Path("directory/data/ranking_model.json").read_text(encoding="utf-8"))
    assert "held out" in data["_provenance"]
    data["features"] = [*FEATURES[:-1], "something else"]
    other = tmp_path / "model.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="other features"):
        RankingModel.load(other)
