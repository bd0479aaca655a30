"""What the request log and metrics cost per request, and what a scrape and a probe cost.

In one process, no network (direct ASGI calls; httpx's ASGI transport), bounded in requests:

1. an ASGI endpoint answering a small JSON, called directly, without and with
   handlers.request_log's RequestRecorder around it (route template, two metrics, one log
   line in the human or the JSON format, written to /dev/null through the product's logging
   config): the difference per request is what the recorder adds to every request;
2. the product on a migrated SQLite file with the bundled directory: GET /metrics (the
   exposition plus the SMS queue count) and GET /readyz (the migration check), ms each.

  .venv/bin/python bench/ops_overhead.py [--requests 3000] [--scrapes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging.config
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app import build
from bot.clock import FakeClock
from bot.ops.log_format import logging_config
from bot.settings import Settings
from handlers.request_log import RequestRecorder


@contextlib.contextmanager
def logs_to_devnull(log_format: str) -> Iterator[None]:
    """The product's logging config at INFO, its stderr swapped for /dev/null."""
    logging.config.dictConfig(logging_config(log_format=log_format, level="INFO"))
    kept = sys.stderr
    with open(os.devnull, "w") as sink:
        sys.stderr = sink
        try:
            yield
        finally:
            sys.stderr = kept


async def _endpoint(scope: Scope, _receive: Receive, send: Send) -> None:
    """What routing leaves in the scope, and a small JSON answer."""
    scope["route"] = ROUTE
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"status": "ok"}'})


ROUTE = APIRoute("/api/thing/{thing_id}", _endpoint)


async def per_request_us(app: ASGIApp, requests: int) -> float:
    """Calls of the ASGI app with a fresh scope each, as a server makes them."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    started = time.perf_counter()
    for i in range(requests):
        scope = {"type": "http", "method": "GET", "path": f"/api/thing/{i}", "root_path": ""}
        await app(scope, receive, send)
    return (time.perf_counter() - started) / requests * 1e6


async def recorder_cost(requests: int) -> None:
    recorded = RequestRecorder(_endpoint, routes=[ROUTE])
    for log_format in ("text", "json"):
        with logs_to_devnull(log_format):
            runs = [
                (
                    await per_request_us(_endpoint, requests),
                    await per_request_us(recorded, requests),
                )
                for _ in range(5)
            ]
        cost = statistics.median(with_it - without for without, with_it in runs)
        print(f"request log + metrics ({log_format:>4} log line): {cost:6.1f} µs per request "
              f"(median of 5 runs of {requests})")  # fmt: skip


async def scrape_and_probe(scrapes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ops.db'}"
        settings = Settings(database_url=url, encoder="none", log_level="WARNING")
        clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
        app = build(settings, clock=clock)  # migrates at start-up, as serve does
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            assert (await client.get("/readyz")).status_code == 200  # loads the index
            for path in ("/metrics", "/readyz"):
                times = []
                for _ in range(scrapes):
                    started = time.perf_counter()
                    assert (await client.get(path)).status_code == 200
                    times.append((time.perf_counter() - started) * 1000)
                print(f"GET {path:<9} median {statistics.median(times):5.2f} ms, "
                      f"max {max(times):5.2f} ms ({scrapes} requests, SQLite)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(recorder_cost(args.requests))
    logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(scrape_and_probe(args.scrapes))


if __name__ == "__main__":
    main()
