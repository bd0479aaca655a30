"""/metrics: the counts move where the events happen, labels are route templates (never a
conversation id), the bearer-token gate, and multiprocess mode (several worker processes).

Metrics are process-wide, so every test compares a scrape before and after what it does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.clock import FakeClock
from bot.meetings.reminders import ReminderWorker, record_status
from bot.settings import Settings
from bot.sms.sms_models import OutboundKind, OutboundSms, OutboundStatus
from bot.sms.sms_queue import enqueue
from tests import factories
from tests.fake_twilio import FakeTwilio
from tests.sms_support import PARENT, twilio_sender

ROOT = Path(__file__).resolve().parents[1]
SCHOOL = "Min son på 14 vill inte gå till skolan längre och sitter hemma hela dagarna"
ACUTE = "min dotter har tagit en massa tabletter och svarar knappt"
TOKEN = "metrics-token-for-tests-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> tuple[str, Samples]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, parse(response.text)


async def test_a_chat_an_urgent_message_and_a_handoff_are_counted(client) -> None:
    _, before = await scrape(client)
    cid = (await factories.chat(client, SCHOOL))["conversation_id"]
    await factories.chat(client, "Prata med en person", cid, action="handoff")
    await factories.chat(client, "ja", cid)  # consent: a case is opened
    assert (await factories.chat(client, ACUTE))["urgent"] is True
    assert (await client.get(f"/api/chat/{cid}", params={"after": 1})).status_code == 200
    text, after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("familjeguiden_messages_total", channel="web") == 4
    assert moved("familjeguiden_urgent_answers_total", channel="web") == 1
    assert moved("familjeguiden_handoffs_total", channel="web") == 1
    chat = {"route": "/api/chat", "method": "POST", "status": "2xx"}
    assert moved("familjeguiden_http_requests_total", **chat) == 4
    assert moved("familjeguiden_http_request_duration_seconds_count", **chat) == 4
    history = {"route": "/api/chat/{conversation_id}", "method": "GET", "status": "2xx"}
    assert moved("familjeguiden_http_requests_total", **history) == 1
    # The id is a conversation's only credential: no label, no sample carries it.
    assert cid not in text and "after=" not in text


async def test_routes_are_labelled_by_their_full_template(client) -> None:
    """Nested routers' prefixes included; a path that is no route is "unmatched"."""
    await client.get("/admin/api/v1/services/svc-123/contacts/c-456")  # 401, no key
    await client.get("/no/such/page-789")
    await client.get("/inbox/static/no-such-file.css")
    text, samples = await scrape(client)
    nested = "/admin/api/v1/services/{service_id}/contacts/{contact_id}"
    assert value(samples, "familjeguiden_http_requests_total", route=nested, method="GET",
                 status="4xx") >= 1  # fmt: skip
    assert value(samples, "familjeguiden_http_requests_total", route="unmatched", method="GET",
                 status="4xx") >= 1  # fmt: skip
    assert value(samples, "familjeguiden_http_requests_total", route="/inbox/static/{path}",
                 method="GET", status="4xx") >= 1  # fmt: skip
    assert not any(raw in text for raw in ("svc-123", "c-456", "page-789", "no-such-file"))


async def test_sms_queue_depth_is_counted_from_the_database(app: FastAPI, client, clock) -> None:
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        for status in [OutboundStatus.pending] * 3 + [OutboundStatus.failed, OutboundStatus.sent]:
            row = enqueue(session=session, kind=OutboundKind.message, to_phone=PARENT,
                          body="Hej", due_at=clock(), now=clock())  # fmt: skip
            row.status = status
        await session.commit()
    _, samples = await scrape(client)
    assert value(samples, "familjeguiden_sms_queue", status="pending") == 3
    assert value(samples, "familjeguiden_sms_queue", status="claimed") == 0
    assert value(samples, "familjeguiden_sms_queue", status="failed") == 1


async def test_sms_send_and_delivery_failures_are_counted(
    app: FastAPI, client, clock: FakeClock, fake_twilio: FakeTwilio
) -> None:
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        row = enqueue(session=session, kind=OutboundKind.message, to_phone=PARENT, body="Hej",
                      due_at=clock(), now=clock())  # fmt: skip
        await session.commit()
    _, before = await scrape(client)
    sender = twilio_sender(fake_twilio)
    worker = ReminderWorker(ctx.sessions, sender, clock, "w1")
    try:
        fake_twilio.fail_next(1, status=429)  # refused: retried later
        assert await worker.run_once() == 1
        clock.advance(minutes=5)
        assert await worker.run_once() == 1  # sent
    finally:
        await sender.close()
    async with ctx.sessions() as session:
        sid = (await session.get(OutboundSms, row.id)).twilio_sid  # type: ignore[union-attr]
    await record_status(sessions=ctx.sessions, sid=sid, status="undelivered", error_code="30005",
                        now=clock() + timedelta(minutes=1))  # fmt: skip
    _, after = await scrape(client)
    for stage in ("send", "delivery"):
        name = "familjeguiden_sms_send_failures_total"
        assert value(after, name, stage=stage) - value(before, name, stage=stage) == 1
    assert value(after, "familjeguiden_sms_queue", status="failed") == 1


async def test_a_directory_index_build_is_timed(app: FastAPI, client) -> None:
    _, before = await scrape(client)
    await app.state.ctx.directory.get()  # the first build in this app
    _, after = await scrape(client)
    name = "familjeguiden_directory_index_build_seconds"
    assert value(after, f"{name}_count") - value(before, f"{name}_count") == 1
    assert value(after, f"{name}_sum") > value(before, f"{name}_sum")


@pytest.fixture
async def gated(sqlite_engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with METRICS_TOKEN set (its lifespan is not needed for /metrics)."""
    settings = Settings(database_url="sqlite://", encoder="none", metrics_token=TOKEN)
    app = build(settings, engine=sqlite_engine, clock=clock, run_migrations=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
async def test_with_a_token_set_metrics_need_it(gated, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    refused = await gated.get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "familjeguiden_" not in refused.text and TOKEN not in refused.text


async def test_the_right_bearer_token_opens_metrics(gated) -> None:
    text, _ = await scrape(gated, Authorization=f"Bearer {TOKEN}")
    assert "familjeguiden_http_requests_total" in text
    text, _ = await scrape(gated, Authorization=f"bearer {TOKEN}")  # the scheme is any case
    assert "familjeguiden_http_requests_total" in text


def _in_a_process(code: str, metrics_dir: Path) -> str:
    """Python code run as one worker process would run it (PROMETHEUS_MULTIPROC_DIR set)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_multiprocess_mode_adds_up_every_worker_process(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, a scrape in any process shows all processes' counts
    (serve --workers N: uvicorn sends each request to one of them)."""
    count = "from bot.ops import metrics; metrics.MESSAGES.labels('sms').inc({n})"
    _in_a_process(count.format(n=2), tmp_path)
    _in_a_process(count.format(n=3), tmp_path)
    text = _in_a_process(
        "from bot.ops import metrics; print(metrics.exposition().decode())", tmp_path
    )
    assert value(parse(text), "familjeguiden_messages_total", channel="sms") == 5
