"""Build the long-lived parts (store, model, retriever) from Settings, once."""

from __future__ import annotations

from functools import cached_property

from app.settings import Settings
from index import ChunkStore, Embedder, HybridRetriever, IndexBuilder, RetrievalWeights


class Services:
    """Lazily built components shared by the CLI, the web app and the eval."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def store(self) -> ChunkStore:
        return ChunkStore(self.settings.home, self.settings.chroma_url)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model_path)

    @cached_property
    def builder(self) -> IndexBuilder:
        return IndexBuilder(self.store, self.embedder)

    @cached_property
    def weights(self) -> RetrievalWeights:
        s = self.settings
        return RetrievalWeights(bm25_weight=s.bm25_weight, bm25_saturation=s.bm25_saturation, min_dense_similarity=s.min_dense_similarity, top_k=s.top_k)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.store, self.embedder, self.weights).load()

    @cached_property
    def pipeline(self):
        from app.pipeline import build_pipeline

        return build_pipeline(self)
