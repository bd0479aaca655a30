"""The scale set-up of deploy/, small: two `familjeguiden serve` instances behind nginx, in a
throwaway PostgreSQL schema. Chats go through nginx to both instances, nginx's forwarded
address is believed (TRUSTED_PROXIES), and after kill -9 of one instance, and after
PostgreSQL ends every connection, chats go on; each answered message is stored once.

Needs Debian's nginx and PostgreSQL (TEST_DATABASE_URL); skips without them, or fails with
FG_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from deploy.cluster import Cluster, Plan, serve_name
from deploy.nginx_conf import nginx_binary
from deploy.scratch_db import libpq_url, scratch_schema, terminate_connections
from tests.conftest import postgres_url, skip_or_fail

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PER_CLIENT = 4  # chats per client address and minute: shows whose address the app counts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def database_url() -> Iterator[str]:
    if nginx_binary() is None:
        skip_or_fail("the scale set-up needs Debian's nginx (apt-get install nginx)")
    with scratch_schema(postgres_url(), prefix="fg_test_scale") as url:
        yield url


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    env = {
        "DATABASE_URL": database_url,
        "ENCODER": "none",  # starts fast: no model, no vectors
        "LOG_LEVEL": "WARNING",
        "CHAT_RATE_PER_CLIENT": f"{PER_CLIENT}/minute",
        "TELEGRAM_BOT_TOKEN": None,  # the web chat only
        "TWILIO_ACCOUNT_SID": None,
    }
    ports = (_free_port(), _free_port())
    plan = Plan(tmp_path / "run", f"127.0.0.1:{_free_port()}", ports, workers=0, env=env)
    running = Cluster(plan)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _chat(client: httpx.Client, address: str) -> tuple[int, str]:
    """A new conversation's first message, from `address`: (status, conversation id)."""
    conversation = str(uuid.uuid4())
    body = {"conversation_id": conversation, "text": "Min son vill inte gå till skolan"}
    answer = client.post("/api/chat", json=body, headers={"X-Forwarded-For": address})
    return answer.status_code, conversation


def _stored(database_url: str, conversations: list[str]) -> dict[str, int]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT conversation_id, count(*) FROM conversation_message "
            "WHERE author = 'parent' AND conversation_id = ANY(%s) GROUP BY conversation_id",
            (conversations,),
        ).fetchall()
    return dict(rows)


def test_two_instances_behind_nginx_survive_a_kill_and_lost_connections(
    cluster: Cluster, database_url: str
) -> None:
    answered: list[str] = []
    with httpx.Client(base_url=cluster.plan.url, timeout=30) as client:
        # Round robin reaches both instances; each new address is a new client to the app.
        for n in range(4):
            status, conversation = _chat(client, f"10.0.1.{n + 1}")
            assert status == 200
            answered.append(conversation)
        assert client.get(f"/api/chat/{answered[0]}").status_code == 200
        # nginx's X-Forwarded-For is believed: one address is limited, another is not.
        statuses = [_chat(client, "10.0.2.1") for _ in range(PER_CLIENT + 1)]
        assert [s for s, _ in statuses] == [200] * PER_CLIENT + [429]
        answered += [c for s, c in statuses if s == 200]
        assert _chat(client, "10.0.2.2")[0] == 200

        cluster.kill(serve_name(cluster.plan.ports[1]))  # kill -9
        after_kill = [_chat(client, f"10.0.3.{n + 1}") for n in range(6)]
        assert [s for s, _ in after_kill] == [200] * 6
        answered += [c for _, c in after_kill]

        assert terminate_connections(database_url) >= 1  # the surviving instance's pool
        after_end = [_chat(client, f"10.0.4.{n + 1}") for n in range(3)]
        assert [s for s, _ in after_end] == [200] * 3  # no restart: the pool reconnects
        answered += [c for _, c in after_end]
        assert cluster.alive(serve_name(cluster.plan.ports[0]))

    assert _stored(database_url, answered) == dict.fromkeys(answered, 1)
    cluster.stop()  # nginx writes its buffered access log on the way out
    text = (cluster.plan.run_dir / "logs" / "access.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    chats = [line for line in lines if line["route"].startswith("/api/chat")]
    served_by = {line["upstream"].split(",")[-1].strip() for line in chats[:4]}
    assert served_by == {f"127.0.0.1:{port}" for port in cluster.plan.ports}
    assert {line["route"] for line in chats} == {"/api/chat", "/api/chat/{id}"}
    assert not any(conversation in text for conversation in answered)  # only the route
