"""Hybrid search: dense (MiniLM in Chroma) and BM25 (bm25s), fused by weight.

Nothing is computed per corpus at start-up: the manifest names the current document
versions and the stored BM25 index; search results carry their chunks' sentence
splits and vectors (index/derived.py). Time to ready does not grow with the corpus
beyond memory-mapping the BM25 files.

Dense similarity is the primary signal and the one the score floor applies to:
it is on a fixed scale (cosine). BM25 adds a weighted bonus so exact terms ("SPO",
"Family Law Act") can lift a passage. The raw BM25 score is saturated, s / (s + c),
rather than divided by the query's best score: a query with only weak lexical matches
then gets a weak bonus, not a full one. Weight and saturation are tuned on the golden
set's tuning split (eval/); weight 0 is the dense-only baseline and weight 1 ranks by
BM25 alone.

A learned section prior (index/section_prior.py) adds weight x P(section | question) to
each candidate's fused score, by chunk id, before the top k are taken. `prior_weight` 0
turns it off (the dense-only and BM25-only baselines do); None uses the weight its file
chose by cross-validation on the tuning split.

Lay phrasings (index/lay_terms.py) are searched in the guidance's words too: "without
him knowing" also searches "without notifying the other party". `lay_terms` False turns
it off (the baselines do).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from index.derived import KeywordIndex, unpack_sentences, unpack_vectors, write_folder
from index.embedder import Embedder
from index.lay_terms import LayTerms
from index.section_prior import SectionPrior
from index.store import ChunkStore, Manifest, StoredChunk, chunk_id_of, doc_key_of
from index.types import Passage, RetrievalResult
from ingest.errors import IndexUnavailable
from ingest.model import Chunk

_MANIFEST_CHECK_SECONDS = 1.0  # replicas serve a re-ingest within about this long


@dataclass(frozen=True)
class RetrievalWeights:
    bm25_weight: float = 0.3  # 0 = dense only, 1 = BM25 only; see README "Retrieval"
    bm25_saturation: float = 2.0  # raw BM25 score that earns half the bonus
    min_dense_similarity: float = 0.15  # the score floor
    top_k: int = 5
    candidates: int = 40  # how many each retriever proposes before fusion
    prior_weight: float | None = None  # section prior: None = its file's weight, 0 = off
    lay_terms: bool = True  # search lay phrasings in the guidance's words too (if the retriever has them)

    def bm25_bonus(self, raw):
        """The saturated BM25 score, s / (s + c): a float, or an array of them."""
        return raw / (raw + self.bm25_saturation)

    def fuse(self, dense, bonus):
        """The fused score before any section prior (floats or arrays)."""
        return (1 - self.bm25_weight) * dense + self.bm25_weight * bonus


class HybridRetriever:
    def __init__(self, store: ChunkStore, embedder: Embedder, weights: RetrievalWeights | None = None, prior: SectionPrior | None = None, lay_terms: LayTerms | None = None):
        self.store = store
        self.embedder = embedder
        self.weights = weights or RetrievalWeights()
        self.prior = prior
        self.lay_terms = lay_terms
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._manifest: Manifest | None = None
        self._keywords: KeywordIndex | None = None
        self._checked_at = 0.0

    # --- loading ---------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        self._ensure_current()
        assert self._manifest is not None
        return self._manifest

    @property
    def chunks(self) -> list[Chunk]:
        """Every current chunk, read from the store (for the eval; not the answer path)."""
        manifest = self.manifest
        return self.store.chunks(manifest.collection, manifest.doc_keys)

    def load(self) -> HybridRetriever:
        manifest = self.store.read_manifest()
        if manifest is None:
            raise IndexUnavailable(f"There is no index in {self.store.where} yet. Run `signpost ingest` first.")
        if manifest.embedding_model != self.embedder.model_id:
            raise IndexUnavailable(f"The index was built with {manifest.embedding_model}, not {self.embedder.model_id}. Run `signpost ingest --rebuild`.")
        keywords = self._load_keywords(manifest.keywords)
        with self._lock:
            self._manifest, self._keywords = manifest, keywords
            self._checked_at = time.monotonic()
        return self

    def _load_keywords(self, key: str) -> KeywordIndex:
        # A local copy per generation, memory-mapped; fetched from the store once.
        folder = self.store.blob_folder(key)
        if not (folder / KeywordIndex.IDS_FILE).is_file():
            write_folder(folder, self.store.get_blob(key))
        return KeywordIndex.load(folder)

    def with_weights(self, **changes) -> HybridRetriever:
        """A retriever with some weights changed, sharing this one's loaded index."""
        self._ensure_current()
        variant = HybridRetriever(self.store, self.embedder, replace(self.weights, **changes), self.prior, self.lay_terms)
        with self._lock:
            variant._manifest, variant._keywords, variant._checked_at = self._manifest, self._keywords, self._checked_at
        return variant

    def _ensure_current(self) -> None:
        # A re-ingest in another process or replica switches the manifest; notice it
        # within a couple of seconds (a cheap read of the generation id) and reload.
        if self._manifest is None:
            self.load()
            return
        if time.monotonic() - self._checked_at < _MANIFEST_CHECK_SECONDS:
            return
        with self._reload_lock:  # one thread checks and reloads; the others go on
            if time.monotonic() - self._checked_at < _MANIFEST_CHECK_SECONDS:
                return
            latest = self.store.current_generation()
            self._checked_at = time.monotonic()
            if latest != self._manifest.generation:
                self.store.refresh()  # records another process added in place
                self.load()

    # --- searching -------------------------------------------------------------

    def retrieve(self, query: str, k: int | None = None, query_vector: np.ndarray | None = None, explain: bool = True) -> RetrievalResult:
        """The k best passages. Candidates are ranked on ids and scores alone; only the
        passages returned are read from the store (with `explain`, the rejected ones
        too, with their reasons: for `signpost search --debug` and the eval)."""
        self._ensure_current()
        manifest, keywords = self._manifest, self._keywords
        w = self.weights
        k = k or w.top_k
        timings: dict[str, float] = {}

        t0 = time.perf_counter()
        if self.lay_terms is not None and w.lay_terms:
            searched = self.lay_terms.expand(query)
            if searched != query:
                query, query_vector = searched, None  # a vector passed in is the bare query's
        if query_vector is None:
            query_vector = self.embedder.embed_one(query)
        timings["embed_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        n = min(w.candidates, manifest.chunk_count)
        dense = self._dense(query_vector, n)
        manifest = self._manifest  # _dense may have reloaded it
        timings["dense_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        lexical = keywords.search(query, n) if w.bm25_weight > 0 and keywords is not None and query.strip() else {}
        timings["bm25_ms"] = (time.perf_counter() - t0) * 1000

        floor_dense = min(dense.values(), default=0.0)
        current = [rid for rid in set(dense) | set(lexical) if doc_key_of(rid) in manifest.doc_keys]  # else another version: an ingest is half-way, or just switched
        prior = self.prior.bonuses(query_vector, [chunk_id_of(rid) for rid in current], w.prior_weight) if self.prior is not None and w.prior_weight != 0 else {}
        ranked: list[tuple[str, dict[str, float]]] = []
        for rid in current:
            d = dense.get(rid, floor_dense)
            raw = lexical.get(rid, 0.0)
            b = w.bm25_bonus(raw)
            scores = {"dense": d, "bm25": b, "fused": w.fuse(d, b)}
            if prior:
                scores["prior"] = prior[chunk_id_of(rid)]
                scores["fused"] += scores["prior"]
            ranked.append((rid, scores))
        ranked.sort(key=lambda r: (-r[1]["fused"], r[0]))

        kept: list[tuple[str, dict, str]] = []
        rejected: list[tuple[str, dict, str]] = []
        for rid, scores in ranked:
            if w.bm25_weight < 1 and scores["dense"] < w.min_dense_similarity:
                rejected.append((rid, scores, "below_floor"))
            elif len(kept) >= k:
                rejected.append((rid, scores, "beyond_top_k"))
            else:
                kept.append((rid, scores, ""))
        t0 = time.perf_counter()
        wanted = kept + (rejected if explain else [])
        records = {r.record_id: r for r in self.store.get(manifest.collection, [rid for rid, _, _ in wanted])}
        timings["read_ms"] = (time.perf_counter() - t0) * 1000

        def passages(rows):
            return [replace(passage_from_record(records[rid], manifest.embedding_dim, sc["fused"], sc), reason=why) for rid, sc, why in rows if rid in records]

        return RetrievalResult(kept=passages(kept), rejected=passages(rejected) if explain else [], timings_ms=timings, query=query, query_vector=query_vector)

    def _dense(self, vector: np.ndarray, n: int) -> dict[str, float]:
        """The n nearest record ids of the current generation, with cosine similarity.

        Records of other versions (an ingest half-way, or the version just replaced)
        are skipped; when they crowd the results, ask again for more."""
        for ask in (n, n * 4):
            try:
                hits = self.store.query_ids(self._manifest.collection, vector, ask)
            except IndexUnavailable:
                self.load()  # the collection was replaced by a rebuild under us
                hits = self.store.query_ids(self._manifest.collection, vector, ask)
            current = [(rid, sim) for rid, sim in hits if doc_key_of(rid) in self._manifest.doc_keys]
            if len(current) >= n or len(hits) < ask:
                break
        return dict(current[:n])


def passage_from_record(record: StoredChunk, dim: int, score: float, scores: dict) -> Passage:
    """A passage that carries its sentences and their vectors, as stored at ingest."""
    chunk = record.chunk
    sentences = tuple(unpack_sentences(chunk.text, record.sentences))
    vectors = unpack_vectors(record.sentence_vectors, dim) if record.sentence_vectors else None
    if vectors is not None and len(vectors) != len(sentences):
        sentences, vectors = (), None  # damaged: the composer splits and embeds it again
    return replace(passage_from_chunk(chunk, score, scores), sentences=sentences, sentence_vectors=vectors)


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
