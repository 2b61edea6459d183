"""Build the long-lived parts (store, model, retriever) from Settings, once."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property

from app.coverage import CoverageHead
from app.settings import Settings
from index import ChunkStore, Embedder, HybridRetriever, IndexBuilder, RetrievalWeights
from index.lay_terms import LayTerms
from index.section_prior import SectionPrior
from ingest.errors import IndexUnavailable, SignpostError

log = logging.getLogger("signpost.services")

RELOAD_SECONDS = 10.0  # how often a missing index is looked for again


class Services:
    """Lazily built components shared by the CLI, the web app and the eval."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._open_lock = threading.Lock()
        self._tried_at = 0.0

    def open_retriever(self) -> HybridRetriever:
        """The retriever, opened on first use; IndexUnavailable while the index cannot be
        opened, tried again at most every RELOAD_SECONDS (a server keeps asking)."""
        with self._open_lock:
            if "retriever" in self.__dict__:
                return self.retriever
            if self._tried_at and time.monotonic() - self._tried_at < RELOAD_SECONDS:
                raise IndexUnavailable("The guidance index is not available right now.")
            self._tried_at = time.monotonic()
            try:
                retriever = self.retriever
                retriever.manifest  # noqa: B018 - fails now, not on the first question
            except SignpostError as err:
                self.__dict__.pop("retriever", None)
                log.error("index unavailable: %s", err)
                raise
            return retriever

    @property
    def index_ready(self) -> bool:
        return "retriever" in self.__dict__

    @cached_property
    def store(self) -> ChunkStore:
        token = self.settings.chroma_token.get_secret_value() if self.settings.chroma_token else None
        return ChunkStore(self.settings.home, self.settings.chroma_url, token=token, ca_file=self.settings.chroma_ca_file)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model_path)

    @cached_property
    def builder(self) -> IndexBuilder:
        return IndexBuilder(self.store, self.embedder, self.settings.max_file_bytes)

    @cached_property
    def weights(self) -> RetrievalWeights:
        s = self.settings
        return RetrievalWeights(bm25_weight=s.bm25_weight, bm25_saturation=s.bm25_saturation, min_dense_similarity=s.min_dense_similarity, top_k=s.top_k, prior_weight=s.section_prior_weight, lay_terms=s.lay_terms)

    @cached_property
    def section_prior(self) -> SectionPrior | None:
        if self.settings.section_prior_weight == 0:
            return None
        return SectionPrior.load(self.settings.section_prior_file, self.embedder.model_id)

    @cached_property
    def coverage_head(self) -> CoverageHead | None:
        if self.settings.coverage_threshold == 1.0:
            return None
        return CoverageHead.load(self.settings.coverage_head_file, self.embedder.model_id, self.settings.coverage_threshold, self.settings.long_support_threshold)

    @cached_property
    def lay_terms(self) -> LayTerms | None:
        return LayTerms.load() if self.settings.lay_terms else None

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.store, self.embedder, self.weights, self.section_prior, self.lay_terms).load()

    @cached_property
    def pipeline(self):
        from app.pipeline import build_pipeline

        return build_pipeline(self, retriever=self.open_retriever)
