"""Typed values that leave the index package."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that ranked it."""

    chunk_id: str
    doc_id: str
    doc_title: str
    section: str
    subsection: str
    anchor: str
    jurisdiction: str
    position: int
    text: str
    score: float = 0.0
    scores: dict = field(default_factory=dict, compare=False)  # per source: dense, bm25, fused
    reason: str = ""  # why a rejected passage was rejected
    # Stored at ingest (index/derived.py): the passage's sentences and their vectors.
    sentences: tuple[str, ...] = field(default=(), compare=False, repr=False)
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def heading(self) -> str:
        return f"{self.section} - {self.subsection}" if self.subsection else self.section

    def to_dict(self) -> dict:
        return {
            "chunk_id": self.chunk_id,
            "doc": self.doc_id,
            "doc_title": self.doc_title,
            "section": self.section,
            "subsection": self.subsection,
            "anchor": self.anchor,
            "jurisdiction": self.jurisdiction,
            "text": self.text,
            "score": round(self.score, 4),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
        }


@dataclass(frozen=True)
class RetrievalResult:
    """Kept passages, best first, and the rejected ones kept for debugging."""

    kept: list[Passage]
    rejected: list[Passage]
    timings_ms: dict = field(default_factory=dict)
    # What was searched: the query, with the guidance's words for any lay phrasing in it
    # (index/lay_terms.py), and that text's vector. The composer scores sentences on them.
    query: str = ""
    query_vector: np.ndarray | None = field(default=None, compare=False, repr=False)
