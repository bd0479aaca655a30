"""Accuracy of the matcher on the dev questions and our own labelled sets.

Every set here has been tuned on (the dev set and tests/data/matcher_*.jsonl alike), so these
figures are regression figures, not an estimate for questions nobody has seen.

Runs the real path: an in-memory SQLite database seeded with the bundled directory, the
DirectoryIndex, then Matcher.match for every line. Prints top-1, top-3, urgent recall and
precision, and the misses.

  .venv/bin/python bench/eval_dev.py [path.jsonl ...]   (default: ../shared/eval/dev.jsonl)
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.clock import system_clock
from bot.db import create_all, make_engine, make_session_factory
from directory.index import DirectoryIndex
from directory.matcher import Matcher
from directory.matching import Query
from directory.seed import seed_bundled_directory
from directory.text import name_key

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


same_name = name_key  # the evaluation compares names case- and dash-insensitively


@dataclass
class Tally:
    n: int = 0
    top1: int = 0
    top3: int = 0
    urgent_true: int = 0
    urgent_flagged: int = 0
    urgent_hit: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, case: dict, names: list[str], urgent: bool) -> None:
        expected = {same_name(n) for n in case["expected_any"]}
        got = [same_name(n) for n in names]
        self.n += 1
        self.top1 += bool(got[:1]) and got[0] in expected
        ok3 = any(g in expected for g in got[:3])
        self.top3 += ok3
        want = bool(case.get("urgent"))
        self.urgent_true += want
        self.urgent_flagged += urgent
        self.urgent_hit += want and urgent
        if not ok3 or (got[:1] and got[0] not in expected) or want != urgent:
            mark = "MISS@3" if not ok3 else ("urgent?" if want != urgent else "miss@1")
            self.misses.append(
                f"  {mark:8} {case.get('id', '?')}: want {case['expected_any']} "
                f"urgent={want}; got {names[:3]} urgent={urgent}"
            )

    def report(self, title: str) -> None:
        pct = lambda a, b: f"{100.0 * a / b:.1f} %" if b else "n/a"  # noqa: E731
        print(f"== {title}: {self.n} questions (tuned on: a regression figure)")
        print(f"top-1 {pct(self.top1, self.n)}   top-3 {pct(self.top3, self.n)}")
        print(
            f"urgent recall {pct(self.urgent_hit, self.urgent_true)}   "
            f"precision {pct(self.urgent_hit, self.urgent_flagged)}"
        )
        print("misses:" if self.misses else "no misses")
        print("\n".join(self.misses))


async def bundled_matcher() -> Matcher:
    engine = make_engine("sqlite://")
    try:
        await create_all(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            await seed_bundled_directory(session=session)
        index = DirectoryIndex(sessions, default_municipality="Degerfors", clock=system_clock)
        return await index.get()
    finally:
        await engine.dispose()


def evaluate(matcher: Matcher, path: Path) -> Tally:
    tally = Tally()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            query = Query(case["text"], case.get("municipality"), case.get("age"))
            result = matcher.match(query, limit=5)
            tally.add(case, [h.service.name for h in result.hits], result.urgent)
    return tally


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or [DEV]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        for path in missing:
            hint = " (the project's shared folder lies beside the checkout)" if path == DEV else ""
            print(f"eval_dev: {path} not found{hint}; give the sets to measure as arguments")
        return 2
    matcher = asyncio.run(bundled_matcher())
    for path in paths:
        evaluate(matcher, path).report(str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
