"""The fault run of bench/scale.py: dialogues through nginx to two instances; kill -9 of one
at 30 % of the time, PostgreSQL ending every connection of the run at 65 %. Prints answers
and errors per window and the time to the first answer after each fault."""

from __future__ import annotations

import asyncio
import time

from bench import scale_load as load
from bench.scale_report import HEADER, figures, first_answer_after, row, window
from deploy.cluster import Cluster, serve_name
from deploy.scratch_db import terminate_connections


async def faults(cluster: Cluster, database_url: str, users: int, span: float) -> list[load.Sent]:
    """Dialogues for `span` seconds; kill -9 of the last instance at 30 %, every database
    connection ended at 65 %. Prints the windows; returns every message sent."""
    async with load.client(cluster.plan.url, users) as http:
        chats = load.Load(http, load.CAP_MESSAGES, time.perf_counter() + span)
        running = asyncio.create_task(
            load.run_users(users, lambda u: load.dialogues(chats, 200 + u))
        )
        start = time.perf_counter()
        await asyncio.sleep(span * 0.30)
        victim = serve_name(cluster.plan.ports[-1])
        killed_at = time.perf_counter()
        cluster.kill(victim)
        await asyncio.sleep(span * 0.35)
        ended_at = time.perf_counter()
        ended = await asyncio.to_thread(terminate_connections, database_url)
        await running
        stop = time.perf_counter()
    sent = chats.sent
    print(f"\nfaults: 2 instances, {users} users in dialogues, {span:.0f} s")
    print(HEADER.replace("instances", "window   "))
    for label, a, b in [
        ("before", start, killed_at),
        ("after kill", killed_at, ended_at),
        ("after term.", ended_at, stop),
    ]:
        print(row(label, "all", figures(window(sent, a, b), b - a)))
    survivors = [n for n, _ in cluster.status() if n.startswith("serve-") and cluster.alive(n)]
    print(f"kill -9 {victim}: first answer after it in {_ms(first_answer_after(sent, killed_at))}")
    print(
        f"pg_terminate_backend: {ended} connections ended; first answer after it in "
        f"{_ms(first_answer_after(sent, ended_at))}; still serving, never restarted: "
        f"{', '.join(survivors)}"
    )
    return sent


def _ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f} ms"
