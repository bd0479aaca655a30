"""The process roles as real processes: `familjeguiden worker` (background work, no HTTP) and
`familjeguiden serve --workers N` (N uvicorn processes, migrated once by the parent).

Each test runs the command on a SQLite file in tmp_path with the encoder off; waits are
bounded and read the command's own log lines.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from bot.cli import APP_FACTORY, _serve, _worker, build_parser, server_config
from bot.db import alembic_config
from bot.settings import Settings
from tests.roles_support import Command

pytestmark = pytest.mark.slow


def command_env(tmp_path: Path, **extra: str | None) -> dict[str, str | None]:
    """The settings of these tests; None unsets what the caller's environment may hold."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fg.db'}",
        "ENCODER": "none",  # no sentence encoder to load: these tests match nothing
        "LOG_HASH_SALT": "salt",
        "TELEGRAM_BOT_TOKEN": None,
        "TWILIO_ACCOUNT_SID": None,
        "PROMETHEUS_MULTIPROC_DIR": None,
        **extra,
    }


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    [head] = ScriptDirectory.from_config(alembic_config()).get_heads()
    return head


def revision_of(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return revision


def test_the_command_line_knows_both_roles() -> None:
    parser = build_parser()
    serve = parser.parse_args(["serve", "--workers", "3", "--port", "9001"])
    assert (serve.func, serve.workers, serve.port) == (_serve, 3, 9001)
    assert parser.parse_args(["serve"]).workers == 1
    assert parser.parse_args(["worker"]).func is _worker
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--workers", bad])
    config = server_config(
        APP_FACTORY, Settings(_env_file=None), host="127.0.0.1", port=9001, factory=True, workers=3
    )
    assert (config.app, config.factory, config.workers) == ("bot.app:create_app", True, 3)
    assert not config.proxy_headers  # the app trusts proxies from TRUSTED_PROXIES only


def test_the_workers_factory_reads_the_environment_and_does_not_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in command_env(tmp_path, WORKER_IN_SERVE="false").items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    app = create_app()
    assert app.state.ctx.settings.database_url.endswith("fg.db")
    assert app.state.background.enabled is False
    assert not (tmp_path / "fg.db").exists()  # building touched no database


def test_worker_runs_background_work_without_http_and_stops_cleanly(tmp_path: Path) -> None:
    with Command("worker", env=command_env(tmp_path, WORKER_IN_SERVE="false"), cwd=tmp_path) as w:
        w.wait_for(r"worker: running \(no HTTP\)")
        started = w.wait_for(r"background work: ")
        assert "case-upkeep" in started
        assert w.stop(signal.SIGTERM) == 0
    assert "worker: stopped" in w.output()
    assert "Uvicorn running" not in w.output()
    assert revision_of(tmp_path / "fg.db") == head_revision()  # it migrated the database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(parent: int) -> list[int]:
    """The worker processes of uvicorn's supervisor (not multiprocessing's helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def environment_of(pid: int) -> dict[str, str]:
    pairs = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def test_serve_with_two_workers_answers_from_both_and_migrates_once(tmp_path: Path) -> None:
    port = free_port()
    env = command_env(tmp_path, WORKER_IN_SERVE="false")
    with Command("serve", "--workers", "2", "--port", str(port), env=env, cwd=tmp_path) as serve:
        serve.wait_for(r"Started parent process")
        serve.wait_for(r"Application startup complete", count=2, timeout=90)
        workers = children(serve.process.pid)
        assert len(workers) == 2, serve.output()
        metrics_dirs = {environment_of(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in workers}
        [metrics_dir] = metrics_dirs
        assert metrics_dir and Path(metrics_dir).is_dir()
        for answering in workers:
            # Every other worker stopped: only `answering` can accept the connection.
            held = [pid for pid in workers if pid != answering]
            for pid in held:
                os.kill(pid, signal.SIGSTOP)
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            finally:
                for pid in held:
                    os.kill(pid, signal.SIGCONT)
            assert response.status_code == 200, answering
        assert serve.stop(signal.SIGTERM) == 0
    output = serve.output()
    assert output.count("Running upgrade  -> 0001") == 1  # the parent, not each worker
    assert "died" not in output  # no worker restarted while it started (health check)
    assert revision_of(tmp_path / "fg.db") == head_revision()
    assert not Path(metrics_dir).exists()  # the fresh metrics folder is removed at the end
