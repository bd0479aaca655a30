"""The processes of one run directory: each started with a pid file (`pids/<name>.pid`) and a
log (`logs/<name>.log`), and stopped by that pid, only after /proc shows it is still one this
run started (its environment or command line names the run directory), never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

RUN_MARK = "FG_SCALE_RUN"  # in every started process's environment: the run directory


class Processes:
    """Those started by this object are its children (reaped when they stop); another object
    on the same directory (a later `scale.sh stop`) finds them by their pid files."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        for sub in ("pids", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        with (self.run_dir / "logs" / f"{name}.log").open("ab") as log:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, RUN_MARK: str(self.run_dir)},
                start_new_session=True,  # outlives `scale.sh start`; no terminal signals
            )
        self.children[name] = child
        self._pid_file(name).write_text(f"{child.pid}\n")

    def status(self) -> list[tuple[str, int]]:
        """(name, pid) of every process this run directory records."""
        return [
            (path.stem, int(path.read_text().strip() or 0))
            for path in sorted((self.run_dir / "pids").glob("*.pid"))
        ]

    def pid(self, name: str) -> int | None:
        path = self._pid_file(name)
        return int(path.read_text().strip()) if path.exists() else None

    def alive(self, name: str) -> bool:
        child = self.children.get(name)
        if child is not None:
            return child.poll() is None
        pid = self.pid(name)
        return pid is not None and self._ours(pid)

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.run_dir / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to one process of this run (kill -9 by default)."""
        pid = self.pid(name)
        if pid is None or not self.alive(name):
            raise RuntimeError(f"{name} is not running")
        os.kill(pid, sig)
        if sig == signal.SIGKILL and name in self.children:
            self.children[name].wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> list[str]:
        """nginx first (no new requests), then the rest: SIGTERM (nginx: SIGQUIT, its
        graceful stop), and SIGKILL for any still running after `timeout`. The names stopped."""
        names = sorted((n for n, _ in self.status()), key=lambda n: n != "nginx")
        stopped = [name for name in names if self.alive(name)]
        for name in stopped:
            self.kill(name, signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in stopped:
            while self.alive(name) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.alive(name):
                self.kill(name)
        for name in names:
            if name in self.children:
                self.children.pop(name).wait(timeout=10)
            self._pid_file(name).unlink(missing_ok=True)
        return stopped

    def _ours(self, pid: int) -> bool:
        """The pid is a live process of this run (not a zombie, not a reused pid)."""
        proc = Path(f"/proc/{pid}")
        mark = str(self.run_dir).encode()
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
            if RUN_MARK.encode() + b"=" + mark in (proc / "environ").read_bytes().split(b"\0"):
                return True
            # nginx writes its process title over its environment; the title keeps -p RUN/.
            return mark in (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / "pids" / f"{name}.pid"
