"""Embed chunks into Chroma beside a BM25 keyword index, and search them."""

from index.builder import IndexBuilder, IngestReport
from index.embedder import Embedder
from index.retriever import HybridRetriever, RetrievalWeights
from index.store import ChunkStore, Manifest
from index.types import Passage, RetrievalResult

__all__ = [
    "ChunkStore",
    "Embedder",
    "HybridRetriever",
    "IndexBuilder",
    "IngestReport",
    "Manifest",
    "Passage",
    "RetrievalResult",
    "RetrievalWeights",
]
