"""What a free-text message asks for, read by a learned head on the sentence vector.

The rules in `bot.core.intents` decide buttons, numbers and exact commands; what they leave as
a question is read here: a softmax over the e5 vector and hashed character n-grams, trained
by `tools/train_intents.py` on labelled chat turns by several writers (corpus/intents; the
held-out writer is measured by bench/intent_eval.py). Needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from directory.triage import char_ngrams

CHAR_BUCKETS = 1 << 12


def unit_ngrams(text: str) -> dict[int, float]:
    """Hashed character n-grams scaled to unit length (short and long turns weigh alike)."""
    grams = char_ngrams(text, CHAR_BUCKETS)
    norm = sum(v * v for v in grams.values()) ** 0.5 or 1.0
    return {k: v / norm for k, v in grams.items()}


@dataclass(frozen=True)
class IntentModel:
    labels: tuple[str, ...]
    dense: np.ndarray  # labels x encoder dim
    chars: np.ndarray  # labels x CHAR_BUCKETS
    bias: np.ndarray  # labels
    encoder: str  # the encoder the head was trained on

    @classmethod
    @cache
    def load(cls) -> IntentModel:
        path = resources.files("bot.core").joinpath("data/intent_model.npz")
        with path.open("rb") as handle, np.load(handle) as data:
            return cls(
                tuple(str(x) for x in data["labels"]),
                data["dense"].astype(np.float32),
                data["chars"].astype(np.float32),
                data["bias"].astype(np.float32),
                str(data["encoder"]),
            )

    def probabilities(self, vector: np.ndarray, text: str) -> np.ndarray:
        z = self.bias + np.einsum("ij,j->i", self.dense, vector.astype(np.float32))
        for bucket, value in unit_ngrams(text).items():
            z += self.chars[:, bucket] * value
        z = np.exp(z - z.max())
        return z / z.sum()

    def read(self, vector: np.ndarray, text: str) -> tuple[str, float]:
        """The most likely intent label and its probability."""
        p = self.probabilities(vector, text)
        best = int(np.argmax(p))
        return self.labels[best], float(p[best])
