"""Where the CPU went during a load (Linux /proc): the instances, nginx, PostgreSQL (the
whole server: its backends come and go with the pools' overflow, so they are counted with
the postmaster's finished children; other users of the server count too), this load
generator, and the rest of the machine (other people's work: noise).

On a 2-core machine the load generator, nginx and PostgreSQL share the cores with the
instances, so two instances cannot double one; these figures say how far they could go.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("app", "nginx", "postgres", "client")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of one process (0 when it is gone); with `reaped`, also of
    its children that have exited."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (nginx's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def machine_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (not idle, not waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def postgres_server() -> tuple[list[int], int | None]:
    """Every PostgreSQL process on the machine, and the postmaster (their parent)."""
    pids = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _comm(entry) == "postgres"
    ]
    parents = {pid: (_stat(pid) or ["", "", "0"])[1] for pid in pids}
    postmaster = next((pid for pid in pids if int(parents[pid]) not in parents), None)
    return pids, postmaster


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Sample:
    by_pid: dict[str, dict[int, float]]
    machine: float


def sample(groups: Mapping[str, Iterable[int]], *, reaping: Iterable[int] = ()) -> Sample:
    """CPU seconds of each process by group; `reaping` processes count their finished
    children too."""
    reapers = set(reaping)
    by_pid = {
        group: {pid: process_seconds(pid, reaped=pid in reapers) for pid in pids}
        for group, pids in groups.items()
    }
    return Sample(by_pid, machine_seconds())


def spent(before: Sample, after: Sample) -> dict[str, float]:
    """CPU seconds per group between two samples (a process started between them counts
    whole), and "rest": the machine's busy time that none of the groups explains."""
    used = {}
    for group, now in after.by_pid.items():
        then = before.by_pid.get(group, {})
        used[group] = sum(max(0.0, seconds - then.get(pid, 0.0)) for pid, seconds in now.items())
    used["rest"] = max(0.0, after.machine - before.machine - sum(used.values()))
    return used
