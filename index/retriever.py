"""Hybrid search: dense (MiniLM in Chroma) and BM25 (llama-index), fused by weight.

Dense similarity is the primary signal and the one the score floor applies to:
it is on a fixed scale (cosine). BM25 adds a weighted bonus so exact terms ("SPO",
"Family Law Act") can lift a passage. The raw BM25 score is saturated, s / (s + c),
rather than divided by the query's best score: a query with only weak lexical matches
then gets a weak bonus, not a full one. Weight and saturation are tuned on the golden
set's tuning split (eval/); weight 0 is the dense-only baseline and weight 1 ranks by
BM25 alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from index.embedder import Embedder
from index.store import ChunkStore, Manifest
from index.types import Passage, RetrievalResult
from ingest.errors import IndexUnavailable
from ingest.model import Chunk

_MANIFEST_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class RetrievalWeights:
    bm25_weight: float = 0.08  # 0 = dense only, 1 = BM25 only; see README "Retrieval"
    bm25_saturation: float = 2.0  # raw BM25 score that earns half the bonus
    min_dense_similarity: float = 0.15  # the score floor
    top_k: int = 5
    candidates: int = 40  # how many each retriever proposes before fusion


class HybridRetriever:
    def __init__(self, store: ChunkStore, embedder: Embedder, weights: RetrievalWeights | None = None):
        self.store = store
        self.embedder = embedder
        self.weights = weights or RetrievalWeights()
        self._lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._chunks: dict[str, Chunk] = {}
        self._bm25 = None
        self._checked_at = 0.0

    # --- loading ---------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        self._ensure_current()
        assert self._manifest is not None
        return self._manifest

    @property
    def chunks(self) -> list[Chunk]:
        self._ensure_current()
        return list(self._chunks.values())

    def load(self) -> HybridRetriever:
        manifest = self.store.read_manifest()
        if manifest is None:
            raise IndexUnavailable(f"There is no index in {self.store.where} yet. Run `signpost ingest` first.")
        if manifest.embedding_model != self.embedder.model_id:
            raise IndexUnavailable(
                f"The index was built with {manifest.embedding_model}, not {self.embedder.model_id}. "
                "Run `signpost ingest --rebuild`."
            )
        chunks = self.store.chunks(manifest.collection)
        bm25 = _build_bm25(chunks)
        with self._lock:
            self._manifest, self._chunks, self._bm25 = manifest, {c.chunk_id: c for c in chunks}, bm25
            self._checked_at = time.monotonic()
        return self

    def with_weights(self, **changes) -> HybridRetriever:
        """A retriever with some weights changed, sharing this one's loaded index."""
        self._ensure_current()
        variant = HybridRetriever(self.store, self.embedder, replace(self.weights, **changes))
        with self._lock:
            variant._manifest, variant._chunks, variant._bm25 = self._manifest, self._chunks, self._bm25
            variant._checked_at = self._checked_at
        return variant

    def _ensure_current(self) -> None:
        # A re-ingest in another process switches the manifest to a new generation;
        # notice it within a couple of seconds and reload.
        if self._manifest is None:
            self.load()
            return
        if time.monotonic() - self._checked_at < _MANIFEST_CHECK_SECONDS:
            return
        latest = self.store.read_manifest()
        self._checked_at = time.monotonic()
        if latest is None or latest.collection != self._manifest.collection:
            self.load()

    # --- searching -------------------------------------------------------------

    def retrieve(self, query: str, k: int | None = None, query_vector: np.ndarray | None = None) -> RetrievalResult:
        self._ensure_current()
        w = self.weights
        k = k or w.top_k
        timings: dict[str, float] = {}

        t0 = time.perf_counter()
        if query_vector is None:
            query_vector = self.embedder.embed_one(query)
        timings["embed_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        n = min(w.candidates, len(self._chunks))
        try:
            dense = dict(self.store.query(self._manifest.collection, query_vector, n))
        except IndexUnavailable:
            self.load()  # the generation may have been swapped under us
            dense = dict(self.store.query(self._manifest.collection, query_vector, n))
        timings["dense_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        lexical = self._bm25_scores(query, n) if w.bm25_weight > 0 else {}
        timings["bm25_ms"] = (time.perf_counter() - t0) * 1000

        floor_dense = min(dense.values(), default=0.0)
        ranked: list[Passage] = []
        for chunk_id in set(dense) | set(lexical):
            chunk = self._chunks.get(chunk_id)
            if chunk is None:
                continue
            d = dense.get(chunk_id, floor_dense)
            raw = lexical.get(chunk_id, 0.0)
            b = raw / (raw + w.bm25_saturation)
            fused = (1 - w.bm25_weight) * d + w.bm25_weight * b
            ranked.append(passage_from_chunk(chunk, fused, {"dense": d, "bm25": b, "fused": fused}))
        ranked.sort(key=lambda p: (-p.score, p.doc_id, p.position))

        kept: list[Passage] = []
        rejected: list[Passage] = []
        for p in ranked:
            if w.bm25_weight < 1 and p.scores["dense"] < w.min_dense_similarity:
                rejected.append(_with_reason(p, "below_floor"))
            elif len(kept) >= k:
                rejected.append(_with_reason(p, "beyond_top_k"))
            else:
                kept.append(p)
        return RetrievalResult(kept=kept, rejected=rejected, timings_ms=timings)

    def _bm25_scores(self, query: str, n: int) -> dict[str, float]:
        if self._bm25 is None or not query.strip():
            return {}
        from llama_index.core.schema import QueryBundle

        self._bm25.similarity_top_k = n
        try:
            results = self._bm25.retrieve(QueryBundle(query_str=query))
        except (ValueError, IndexError):
            return {}  # a query of only stop words
        return {r.node.node_id: float(r.score or 0.0) for r in results if (r.score or 0) > 0}


def _build_bm25(chunks: list[Chunk]):
    if not chunks:
        return None
    # Imported here: llama-index and bm25s are slow to import.
    import Stemmer
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    nodes = [TextNode(id_=c.chunk_id, text=c.embed_text) for c in chunks]
    return BM25Retriever.from_defaults(nodes=nodes, stemmer=Stemmer.Stemmer("english"), language="english", similarity_top_k=10)


def passage_from_chunk(chunk: Chunk, score: float = 0.0, scores: dict | None = None) -> Passage:
    return Passage(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        doc_title=chunk.doc_title,
        section=chunk.section,
        subsection=chunk.subsection,
        anchor=chunk.anchor,
        jurisdiction=chunk.jurisdiction,
        position=chunk.position,
        text=chunk.text,
        score=score,
        scores=scores or {},
    )


def _with_reason(p: Passage, reason: str) -> Passage:
    return replace(p, reason=reason)
