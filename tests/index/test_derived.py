import bm25s
import numpy as np
import pytest

from eval.bench_scale import write_corpus
from index.derived import KeywordCounts, KeywordIndex, keyword_tokens
from ingest import chunk_document, load_document
from tests.conftest import CORPUS

QUERIES = [
    "non-molestation order",
    "stalking protection order police",
    "keeping a diary of each incident",
    "Family Law Act 1996 Section 44",
    "harassment harassment harassment",  # a repeated term counts each time, as in bm25s
    "court court order",
    "neighbour",
]


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """(doc_key, record ids, tokens per chunk): the guidance and synthetic documents."""
    folder = tmp_path_factory.mktemp("synthetic")
    paths = [CORPUS / "stalking-and-harassment-guidance.md", *write_corpus(folder, 230)]
    out = []
    for path in paths:
        chunks = chunk_document(load_document(path))
        out.append((f"{chunks[0].doc_id}@v1", [f"{chunks[0].doc_id}@v1/{c.chunk_id}" for c in chunks], keyword_tokens([c.embed_text for c in chunks])))
    return out


def fresh_bm25s(docs):
    model = bm25s.BM25()
    model.index([t for _, _, tokens in docs for t in tokens], show_progress=False)
    return model, [i for _, ids, _ in docs for i in ids]


def assert_same_as_fresh(index: KeywordIndex, docs):
    """Every score of every query is bit-for-bit the fresh bm25s build's, on the same rows."""
    model, ids = fresh_bm25s(docs)
    assert index.record_ids == ids
    queries = QUERIES + sorted(set(t for _, _, tokens in docs[:2] for chunk in tokens for t in chunk))  # every term of two documents
    for query in queries:
        terms = [t for t in keyword_tokens([query])[0] if t in model.vocab_dict]
        expected = model.get_scores(terms) if terms else None
        got = index.scores(query)
        if expected is None:
            assert got is None, query
        else:
            assert got is not None and np.array_equal(got, expected), query


def counts_of(docs):
    return KeywordCounts.join([(KeywordCounts.of_document(key, ids, tokens), key) for key, ids, tokens in docs])


def test_scores_from_counts_are_bm25s_scores_bit_for_bit(documents):
    index = KeywordIndex.from_counts(counts_of(documents))
    assert_same_as_fresh(index, documents)
    assert index.search("non-molestation order", 5).keys() == dict(zip(*_top(documents, "non-molestation order", 5), strict=True)).keys()


def _top(docs, query, n):
    model, ids = fresh_bm25s(docs)
    scores = model.get_scores([t for t in keyword_tokens([query])[0] if t in model.vocab_dict])
    top = np.argpartition(-scores, n - 1)[:n]
    return [ids[i] for i in top], [float(scores[i]) for i in top]


def test_changing_removing_and_adding_documents_gives_the_fresh_build(documents, tmp_path):
    path = tmp_path / "counts.npz"
    counts_of(documents[:4]).save(path)
    cached = KeywordCounts.load(path)
    assert cached is not None and cached.doc_keys == [d[0] for d in documents[:4]]

    # Document 1 changes (new tokens under a new key), document 2 goes, document 4 arrives.
    key, ids, tokens = documents[1]
    changed = ("changed@v2", [i.replace("@v1", "@v2") for i in ids], [t + ["brandnewterm"] for t in tokens[::-1]])
    after = [documents[0], changed, documents[3], documents[4]]
    fresh = {d[0]: KeywordCounts.of_document(*d) for d in (changed, documents[4])}
    joined = KeywordCounts.join([(fresh.get(k, cached), k) for k, _, _ in after])
    assert joined.doc_keys == [d[0] for d in after]
    assert_same_as_fresh(KeywordIndex.from_counts(joined), after)
    # Terms only the removed documents used are gone from the vocabulary.
    assert set(joined.vocab) == {t for _, _, tokens in after for chunk in tokens for t in chunk}


def test_unreadable_counts_are_a_cache_miss(tmp_path):
    assert KeywordCounts.load(tmp_path / "missing.npz") is None
    (tmp_path / "broken.npz").write_bytes(b"not an npz")
    assert KeywordCounts.load(tmp_path / "broken.npz") is None


def test_an_empty_corpus_has_an_index_that_finds_nothing():
    index = KeywordIndex.from_counts(KeywordCounts.join([]))
    assert index.record_ids == [] and index.search("order", 5) == {}
