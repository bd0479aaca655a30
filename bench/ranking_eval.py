"""Ranking on questions nobody tuned on: lexical, dense and hybrid, in one run.

The held-out writers of the ranking corpus (corpus/ranking, HELD_OUT in
tools/train_ranking.py) were never read while the fusion weights were trained or chosen.
Each ranking runs through the product's Matcher.match over the bundled directory with stored
service vectors (urgent and coordinator rules included), so only the ranking differs:

- lexical: BM25F alone (the matcher without an encoder's ranking);
- dense:   the cosine between the question's and the services' e5 vectors alone;
- hybrid:  both fused with the learned weights (directory/data/ranking_model.json).

Questions whose expected services include an emergency line count by the same rule as the
rest: the first hit must be one of the expected services.

  .venv/bin/python bench/ranking_eval.py [--writers r05,r06] [--misses]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ is not installed

from directory.ranking import FEATURES, RankingModel
from tools.train_ranking import HELD_OUT, bundled_matcher, query, read_writers, same_name


def dense_only() -> RankingModel:
    weights = tuple(1.0 if f == "dense_gap" else 0.0 for f in FEATURES)
    return RankingModel(weights, 0.0, 0.0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default=",".join(HELD_OUT))
    parser.add_argument("--misses", action="store_true", help="print the hybrid's misses")
    args = parser.parse_args(argv)
    wanted_writers = tuple(args.writers.split(","))
    every = read_writers(exclude=())
    cases = [c for w in wanted_writers for c in every[w]]
    hybrid = RankingModel.load()
    matcher = asyncio.run(bundled_matcher(hybrid))
    matcher.assess = functools.lru_cache(maxsize=None)(matcher.assess)  # type: ignore[method-assign]
    held = set(wanted_writers) <= set(HELD_OUT)
    tuned = "held out: nobody tuned on them" if held else "TUNED ON: a regression figure"
    print(f"{len(cases)} questions by writers {', '.join(wanted_writers)} ({tuned})")
    for name, ranking in (("lexical", None), ("dense", dense_only()), ("hybrid", hybrid)):
        matcher.ranking = ranking
        top1 = top3 = 0
        started = time.perf_counter()
        misses = []
        for case in cases:
            wanted = {same_name(n) for n in case["expected_any"]}
            hits = matcher.match(query(case), limit=5).hits
            names = [same_name(h.service.name) for h in hits]
            ok1 = bool(names) and names[0] in wanted
            top1 += ok1
            top3 += any(n in wanted for n in names[:3])
            if not ok1:
                got = [h.service.name for h in hits[:3]]
                want = case["expected_any"]
                misses.append(f"  {case['text'][:90]!r}\n    want {want} got {got}")
        ms = 1000 * (time.perf_counter() - started) / len(cases)
        n = len(cases)
        print(f"{name:8} top-1 {top1 / n:6.1%}   top-3 {top3 / n:6.1%}   ({ms:.1f} ms a question)")
        if args.misses and name == "hybrid":
            print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
