"""Fusing the lexical and the dense ranking into one order: a small learned combination.

Each candidate service carries the evidence of both rankings (how well its words matched, how
close its meaning is, the rank in each) and a few facts about who it is for. A logistic model
over those features, trained on parents' questions by `tools/train_ranking.py` (writers held
out, see corpus/ranking/README.md), turns them into P(the service is a right answer). Every
feature is relative to the question (a rank, a gap to the best), so the weights hold for a
directory of 24 services or 10,000.

The weights live in `data/ranking_model.json`, with the figures they were chosen on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).parent / "data" / "ranking_model.json"

FEATURES = (
    "lexical",  # the BM25F score on 0..1
    "lexical_rank",  # 1 / (1 + rank) by words; 0 when no word matched
    "dense_gap",  # 10 x (cosine - the best cosine for this question): 0 for the closest
    "dense_rank",  # 1 / (1 + rank) by meaning; 0 outside the candidate pool
    "helpline_calm",  # an emergency line, and triage found no danger: a danger word misleads
    "helpline_caution",  # an emergency line when triage is unsure (the 112 line is shown)
    "coordinator",  # Familjeguiden itself (offered as a person, not as a listing)
    "local",  # serves named municipalities (not national)
    "narrow",  # age range under 10 years while the child's age is unknown
    "neighbours",  # share of the votes of the nearest example questions (directory.examples)
)


@dataclass(frozen=True)
class Candidate:
    """One service's evidence for one question."""

    doc: int
    lexical: float
    lexical_rank: int | None
    dense_gap: float
    dense_rank: int | None
    helpline: bool
    coordinator: bool
    local: bool
    narrow: bool
    triage: str  # urgent, caution or none
    neighbours: float = 0.0  # share of the example questions' votes (directory.examples)
    near: bool = False  # some example question is near: rank with the examples' model

    def features(self) -> list[float]:
        def inverse(rank: int | None) -> float:
            return 0.0 if rank is None else 1.0 / (1 + rank)

        return [
            self.lexical,
            inverse(self.lexical_rank),
            10.0 * self.dense_gap,
            inverse(self.dense_rank),
            float(self.helpline and self.triage == "none"),
            float(self.helpline and self.triage == "caution"),
            float(self.coordinator),
            float(self.local),
            float(self.narrow),
            self.neighbours,
        ]


@dataclass(frozen=True)
class RankingModel:
    weights: tuple[float, ...]
    bias: float
    confident_at: float  # P of the best service at or above which the answer is confident
    # For a question no example question is near (or without examples): trained without the
    # neighbours feature, so words and meaning decide, as they must for an editor's new word.
    alone: RankingModel | None = None

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> RankingModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: trained on other features; run tools/train_ranking.py")
        alone = data.get("alone")
        return cls(
            tuple(data["weights"]),
            float(data["bias"]),
            float(data["confident_at"]),
            cls(tuple(alone["weights"]), float(alone["bias"]), float(alone["confident_at"]))
            if alone
            else None,
        )

    def pick(self, candidates: list[Candidate]) -> RankingModel:
        """The model for these candidates: the examples' one when example questions are near."""
        near = any(c.near for c in candidates)
        return self if near or self.alone is None else self.alone

    def probability(self, candidate: Candidate) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, candidate.features(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def rank(self, candidates: list[Candidate]) -> list[tuple[int, float]]:
        """(doc, score 0..100) best first; ties keep the lexical order."""
        scored = [(self.probability(c), c) for c in candidates]
        scored.sort(key=lambda pc: (-pc[0], pc[1].lexical_rank is None, pc[1].lexical_rank or 0))
        return [(c.doc, round(100.0 * p, 1)) for p, c in scored]

    def confident(self, score: float) -> bool:
        return score >= 100.0 * self.confident_at
