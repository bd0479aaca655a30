"""Urgent detection: recall, precision and false alarms on labelled sets.

Usage: .venv/bin/python bench/urgency_eval.py [--show] [file.jsonl ...]
Defaults: ../shared/eval/dev.jsonl and tests/data/urgency_cases.jsonl. Both were tuned on: they
are regression sets. Figures for unseen text: bench/triage_eval.py (held-out writers).
Each line needs "text" and "urgent"; --show prints the misses and false alarms.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from directory.urgency import UrgencyRules, detect_urgency

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETS = (ROOT.parent / "shared/eval/dev.jsonl", ROOT / "tests/data/urgency_cases.jsonl")


@dataclass
class Score:
    total: int = 0
    acute: int = 0
    caught: int = 0
    flagged: int = 0
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        return self.caught / self.acute if self.acute else 1.0

    @property
    def precision(self) -> float:
        return self.caught / self.flagged if self.flagged else 1.0


def evaluate(path: Path, rules: UrgencyRules, *, show: bool) -> Score:
    score = Score()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        started = time.perf_counter()
        result = detect_urgency(case["text"], rules)
        score.seconds += time.perf_counter() - started
        score.total += 1
        score.acute += case["urgent"]
        score.flagged += result.urgent
        score.caught += case["urgent"] and result.urgent
        if show and result.urgent != case["urgent"]:
            label = "MISSED" if case["urgent"] else f"FALSE ALARM ({result.kind})"
            print(f"  {label}: {case.get('id', '')} {case['text'][:110]}")
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_SETS))
    parser.add_argument("--show", action="store_true", help="print misses and false alarms")
    args = parser.parse_args()
    rules = UrgencyRules.load()
    for path in args.files:
        if not path.exists():
            print(f"{path}: not found, skipped")
            continue
        s = evaluate(path, rules, show=args.show)
        print(
            f"{path.name}: {s.total} messages, {s.acute} acute | recall {s.recall:.0%} "
            f"({s.caught}/{s.acute}) | precision {s.precision:.0%} ({s.caught}/{s.flagged}) | "
            f"false alarms {s.flagged - s.caught} | missed {s.acute - s.caught} | "
            f"{1000 * s.seconds / max(s.total, 1):.2f} ms/message"
        )


if __name__ == "__main__":
    main()
