"""The two process roles: `serve --workers N` (HTTP in N processes) and `worker` (background
work, no HTTP). bot/cli.py parses the command line and builds the app; this runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from bot.db import make_engine
from bot.jobs.locks import migrate_once

log = logging.getLogger(__name__)
# prometheus-client's multiprocess mode: each process writes its values into this folder
# and a scrape of any of them adds them up (bot/ops/metrics.py).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def serve_workers(config: uvicorn.Config, *, database_url: str) -> int:
    """Migrate once here, then run `config.workers` uvicorn processes on one socket (each
    builds the app with uvicorn's factory, without migrating); uvicorn restarts a worker
    that dies. 3 when a worker could not start, as uvicorn.run."""
    asyncio.run(_migrate(database_url))
    metrics_dir = None
    if METRICS_DIR_ENV not in os.environ:
        # A fresh, empty folder: values left from an earlier run must not be added in.
        metrics_dir = tempfile.mkdtemp(prefix="familjeguiden-metrics-")
        os.environ[METRICS_DIR_ENV] = metrics_dir  # inherited by the workers
    try:
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


async def _migrate(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await migrate_once(engine)
    finally:
        await engine.dispose()


def run_worker(app: FastAPI) -> int:
    """`familjeguiden worker`: the app's start-up (migrations, seed, Telegram, background
    work) without HTTP, until SIGTERM or SIGINT; then its shutdown."""
    asyncio.run(work_until_stopped(app))
    return 0


async def work_until_stopped(app: FastAPI, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:
        loop.add_signal_handler(number, stop.set)
    try:
        async with app.router.lifespan_context(app):
            log.info("worker: running (no HTTP); SIGTERM stops it")
            await stop.wait()
            log.info("worker: stopping")
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
    log.info("worker: stopped")
