"""A learned section prior: which of the guidance's sections a question is likely about.

Real people's questions are long stories, and their words are not the guidance's words:
dense and BM25 search alone put a right section first for about 6 in 10 of them. Which
section answers a question is itself learnable from the question's MiniLM vector (the one
search already computes): a multinomial logistic regression over the sections, trained by
`make section-prior` (eval/section_prior_train.py) on the guidance's own paragraphs and the
real-question set's *tuning* split. Search adds weight x P(section | question) to each
passage's fused score, so a passage from a likely section rises; the prior never adds or
removes a passage, and the dense floor still applies to dense similarity alone.

The file maps the guidance's chunk ids to its sections (chunk ids are stable while a
paragraph's text is unchanged). A passage the prior does not know (another document, or
an edited paragraph) gets the bonus of a uniform prior, 1 / sections: no section is
favoured for it, and none is held against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError
from ingest.jsonl import read_model_file

PRIOR_FILE = Path(__file__).resolve().parent.parent / "app" / "models" / "section_prior.json"


@dataclass(frozen=True)
class SectionPrior:
    sections: tuple[str, ...]
    weights: np.ndarray  # (sections, dim)
    bias: np.ndarray  # (sections,)
    chunk_section: dict[str, int]  # chunk id -> section index
    weight: float  # how much P(section | question) adds to a passage's fused score
    embedding_model: str
    info: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path, embedding_model: str) -> SectionPrior:
        rebuild = "Rebuild it with `make section-prior`."
        data = read_model_file(path, "section prior", "section-prior")
        try:
            sections = tuple(data["sections"])
            prior = cls(
                sections=sections,
                weights=np.asarray(data["weights"], dtype=np.float32),
                bias=np.asarray(data["bias"], dtype=np.float32),
                chunk_section={str(k): int(v) for k, v in data["chunk_section"].items()},
                weight=float(data["weight"]),
                embedding_model=str(data["embedding_model"]),
                info={k: v for k, v in data.items() if k not in ("weights", "bias", "chunk_section")},
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"The section prior {path} is not in the expected format. {rebuild}") from None
        if prior.weights.ndim != 2 or prior.weights.shape[0] != len(sections) or prior.bias.shape != (len(sections),):
            raise ConfigError(f"The section prior {path} has weights of the wrong shape. {rebuild}")
        if any(not 0 <= v < len(sections) for v in prior.chunk_section.values()):
            raise ConfigError(f"The section prior {path} maps a chunk to a section it does not have. {rebuild}")
        if prior.embedding_model != embedding_model:
            raise ConfigError(f"The section prior {path} was trained on {prior.embedding_model}, but the embedding model is {embedding_model}. {rebuild}")
        return prior

    def probabilities(self, query_vector: np.ndarray) -> np.ndarray:
        if query_vector.shape[-1] != self.weights.shape[1]:
            raise ConfigError(f"The section prior expects {self.weights.shape[1]}-dimensional vectors, got {query_vector.shape[-1]}. Rebuild it with `make section-prior`.")
        logits = self.weights @ query_vector.astype(np.float32) + self.bias
        logits -= logits.max()
        p = np.exp(logits)
        return p / p.sum()

    def bonuses(self, query_vector: np.ndarray, chunk_ids: list[str], weight: float | None = None) -> dict[str, float]:
        """chunk id -> the bonus its passage gets for this question."""
        w = self.weight if weight is None else weight
        p = self.probabilities(query_vector)
        uniform = 1.0 / len(self.sections)
        return {cid: w * (float(p[self.chunk_section[cid]]) if cid in self.chunk_section else uniform) for cid in chunk_ids}
