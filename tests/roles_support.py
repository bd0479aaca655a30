"""Helpers for the process-role tests: who holds a lock in PostgreSQL, and `familjeguiden`
commands run as real processes (bounded waits, their output kept for the assertion)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ROOT = Path(__file__).resolve().parents[1]
# The backends holding the named lock of a schema (bot.jobs.locks: a 64-bit key, which
# pg_locks shows as two 32-bit halves).
LOCK_HOLDERS = text(
    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND ((l.classid::bigint << 32) | l.objid::bigint)"
    "   = hashtextextended('familjeguiden:' || :name || ':' || :schema, 0)"
)


async def lock_holders(conn: AsyncConnection, *, name: str, schema: str) -> list[tuple[int, str]]:
    rows = await conn.execute(LOCK_HOLDERS, {"name": name, "schema": schema})
    return [(row.pid, row.application_name) for row in rows]


def os_pid(application_name: str) -> int:
    """The process that named its lock connection (bot.jobs.locks: '... pid=N')."""
    found = re.search(r"pid=(\d+)", application_name)
    assert found, application_name
    return int(found.group(1))


class Command:
    """`familjeguiden <args>` in its own process; its output collected by a thread."""

    def __init__(self, *args: str, env: dict[str, str | None], cwd: Path) -> None:
        """`env` is added to this process's environment; a None value unsets the variable."""
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env={
                key: value
                for key, value in {**os.environ, "PYTHONPATH": str(ROOT), **env}.items()
                if value is not None
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: kill() reaches uvicorn's workers
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        self.process.stdout.close()

    def wait_for(self, pattern: str, *, count: int = 1, timeout: float = 60) -> str:
        """The `count`-th output line matching `pattern` (a regex), waiting up to `timeout` s."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        with self._changed:
            while True:
                found = [line for line in self.lines if regex.search(line)]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._pending()):
                    raise AssertionError(f"no {count} lines like {pattern!r} in:\n{self.output()}")
                self._changed.wait(min(left, 0.5))

    def _pending(self) -> bool:
        return self.process.stdout is not None and not self.process.stdout.closed

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(
                f"still running {timeout} s after {sig}:\n{self.output()}"
            ) from error

    def kill(self) -> None:
        """SIGKILL to the command and any process it started (the end of every test,
        whatever happened): nothing is left running."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def __enter__(self) -> Command:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.kill()
