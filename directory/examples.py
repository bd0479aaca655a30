"""Parents' questions with the services that answered them: how people ask for each service.

The ranking corpus's training writers (never the held-out ones) are kept as e5 query vectors
with the names of the services acceptable for each question (`data/ranking_examples.npz`,
written by tools/train_ranking.py). A new question's nearest examples vote for services:
"jag gråter varje dag sen förlossningen" is near questions answered with 1177 Vårdguiden,
whatever words the services' own texts use. A service nobody asked about in the corpus (an
editor's new one, another region's) gets no vote and ranks by its words and meaning alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from directory.text import fold

EXAMPLES_PATH = Path(__file__).parent / "data" / "ranking_examples.npz"
NEIGHBOURS = 10  # examples that vote
TEMPERATURE = 0.02  # cosine difference that makes a neighbour's vote e times smaller
# A question with no example this close gets no vote ("klätterkurs", "hej" are ~0.86 from
# every example) and is ranked without examples. Just under the 5th percentile of a training
# question's nearest example by another writer (0.895).
ABSTAIN_AT = 0.89


@dataclass(frozen=True)
class Examples:
    vectors: np.ndarray  # (n, dim) unit query vectors
    answers: tuple[tuple[str, ...], ...]  # folded names of the services right for each
    writers: tuple[str, ...]  # who wrote each example (for leave-one-writer-out)
    encoder: str

    @classmethod
    def of(
        cls, vectors: np.ndarray, answers: Iterable[Iterable[str]], writers: Iterable[str], *,
        encoder: str,
    ) -> Examples:  # fmt: skip
        folded = tuple(tuple(dict.fromkeys(fold(n) for n in names)) for names in answers)
        return cls(np.asarray(vectors, dtype=np.float32), folded, tuple(writers), encoder)

    def votes(self, query: np.ndarray) -> dict[str, float]:
        """Folded service name -> its share (0..1) of the nearest examples' similarity-weighted
        votes, the closest counting most; empty when no example is within ABSTAIN_AT."""
        if not len(self.writers):
            return {}
        sims = self.vectors @ query
        k = min(NEIGHBOURS, sims.size)
        near = np.argpartition(-sims, k - 1)[:k]
        top = float(sims[near].max())
        if top < ABSTAIN_AT:
            return {}
        weights = np.exp((sims[near] - top) / TEMPERATURE)
        share: dict[str, float] = defaultdict(float)
        for i, weight in zip(near.tolist(), weights.tolist(), strict=True):
            for name in self.answers[i]:
                share[name] += weight
        total = float(weights.sum())
        return {name: value / total for name, value in share.items()}

    def without(self, writers: Iterable[str]) -> Examples:
        """The examples not written by `writers` (to score a writer by others' examples)."""
        drop = set(writers)
        keep = [i for i, w in enumerate(self.writers) if w not in drop]
        return Examples(
            self.vectors[keep],
            tuple(self.answers[i] for i in keep),
            tuple(self.writers[i] for i in keep),
            self.encoder,
        )

    def save(self, path: Path = EXAMPLES_PATH) -> None:
        # float16 halves the file; cosines change by < 1e-3.
        np.savez_compressed(
            path,
            vectors=self.vectors.astype(np.float16),
            answers=np.array(["\t".join(names) for names in self.answers]),
            writers=np.array(self.writers),
            encoder=np.array(self.encoder),
        )

    @classmethod
    def load(cls, encoder: str, path: Path = EXAMPLES_PATH) -> Examples | None:
        """The bundled examples, or None when missing or encoded by another encoder."""
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            if str(data["encoder"]) != encoder:
                return None
            return cls(
                data["vectors"].astype(np.float32),
                tuple(tuple(a.split("\t")) for a in data["answers"].tolist()),
                tuple(data["writers"].tolist()),
                encoder,
            )
