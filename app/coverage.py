"""A learned coverage check: does the guidance cover this question at all?

Real people's off-topic questions sound like the guidance (a child contact order, a
neighbour's camera, a workplace grievance), so search finds related passages and the
composer builds an answer from them. The check is a logistic regression from the
question's MiniLM vector (the one search already computed) to "the guidance does not
cover this", trained by `make coverage-model` (eval/coverage_train.py) on the real
questions' and the golden set's *tuning* splits. When it is sure enough (its threshold,
chosen by cross-validation on those splits so that no answerable tuning question loses
its right-section answer), the question is "not covered", and the passages search found
are shown as "may be related", not as an answer. It reads only questions of at least
`min_words` words (chosen with it): on short, plain questions it takes topic words for
off-topic ones.

A long question it reads and passes is composed with a lower support threshold (chosen
with it; the composer's own is for short questions): a long story relates only loosely
to any one guidance sentence, and the check has already set aside the off-topic ones.
Apart from that, it only ever declines. The threshold 1 turns it off
(`SIGNPOST_COVERAGE_THRESHOLD=1`, for a corpus of other documents), and long questions
are then composed with the composer's own support threshold too.

What it reads (`sentences`, chosen with it since session 19): the question's vector, and
beside it the mean of its sentences' vectors (`app.triage.sentences_vector`; triage has
already embedded them). MiniLM reads only a question's first 256 word pieces, so a long
story's own vector is its opening, while the question is usually at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError
from ingest.jsonl import read_model_file

COVERAGE_FILE = Path(__file__).resolve().parent / "models" / "coverage_head.json"


def features(query_vector: np.ndarray, sentences_vector: np.ndarray | None, sentences: bool) -> np.ndarray:
    """What the check reads, at answer time and in training alike: the question's vector,
    and with `sentences` its sentences' mean beside it (the question's own vector for a
    question of one sentence, which has no segments)."""
    if not sentences:
        return query_vector
    return np.concatenate([query_vector, query_vector if sentences_vector is None else sentences_vector], axis=-1)


@dataclass(frozen=True)
class CoverageHead:
    weights: np.ndarray  # (dim,)
    bias: float
    threshold: float  # decline when P(off-topic) is above this; 1 = never
    embedding_model: str
    min_words: int = 0  # the check reads only questions at least this long
    support_threshold: float | None = None  # the composer's for a question the check has read and passed; None = its own
    sentences: bool = False  # also reads the mean of the question's sentence vectors (module docstring)
    info: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path, embedding_model: str, threshold: float | None = None, support_threshold: float | None = None) -> CoverageHead:
        rebuild = "Rebuild it with `make coverage-model`."
        data = read_model_file(path, "coverage head", "coverage-model")
        try:
            head = cls(
                weights=np.asarray(data["weights"], dtype=np.float32),
                bias=float(data["bias"]),
                threshold=float(data["threshold"] if threshold is None else threshold),
                embedding_model=str(data["embedding_model"]),
                min_words=int(data["min_words"]),
                support_threshold=float(data["long_support_threshold"]) if support_threshold is None else support_threshold,
                sentences=bool(data.get("sentences", False)),
                info={k: v for k, v in data.items() if k not in ("weights", "bias")},
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"The coverage head {path} is not in the expected format. {rebuild}") from None
        if head.weights.ndim != 1 or not np.isfinite(head.weights).all() or not 0.0 <= head.threshold <= 1.0 or not 0.0 <= head.support_threshold <= 1.0:
            raise ConfigError(f"The coverage head {path} has weights of the wrong shape or a threshold outside 0 to 1. {rebuild}")
        if head.embedding_model != embedding_model:
            raise ConfigError(f"The coverage head {path} was trained on {head.embedding_model}, but the embedding model is {embedding_model}. {rebuild}")
        return head

    def features(self, query_vector: np.ndarray, sentences_vector: np.ndarray | None = None) -> np.ndarray:
        return features(query_vector, sentences_vector, self.sentences)

    def off_topic_probability(self, query_vector: np.ndarray, sentences_vector: np.ndarray | None = None) -> float:
        x = self.features(query_vector, sentences_vector)
        if x.shape[-1] != self.weights.shape[0]:
            raise ConfigError(f"The coverage head expects {self.weights.shape[0]}-dimensional features, got {x.shape[-1]}. Rebuild it with `make coverage-model`.")
        return float(1.0 / (1.0 + np.exp(-(float(self.weights @ x.astype(np.float32)) + self.bias))))

    def reads(self, question: str) -> bool:
        """Whether the check is on and the question long enough for it."""
        return self.threshold < 1.0 and len(question.split()) >= self.min_words

    def declines(self, query_vector: np.ndarray, question: str, sentences_vector: np.ndarray | None = None) -> bool:
        return self.reads(question) and self.off_topic_probability(query_vector, sentences_vector) > self.threshold
