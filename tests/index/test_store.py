import base64

import pytest

import index.store as store_module
from index import ChunkStore
from ingest.errors import IndexUnavailable


@pytest.fixture
def store(tmp_path):
    return ChunkStore(tmp_path / "home")


def test_a_blob_comes_back_whole_from_many_parts(store, monkeypatch):
    monkeypatch.setattr(store_module, "_BLOB_PART", 7)
    files = {"data.npy": bytes(range(256)) * 3, "ids.json": b'["a", "b"]', "empty": b""}
    store.put_blob("bm25-one", files)
    store.put_blob("bm25-two", {"x": b"other"})
    assert store.get_blob("bm25-one") == files
    store.drop_blobs(keep=["bm25-two"])
    with pytest.raises(IndexUnavailable, match="bm25-one is missing"):
        store.get_blob("bm25-one")
    assert store.get_blob("bm25-two") == {"x": b"other"}


def test_a_blob_stored_in_documents_by_an_earlier_version_still_reads(store):
    store._blob_collection().upsert(
        ids=["bm25-old/f/0"],
        documents=[base64.b64encode(b"old bytes").decode("ascii")],
        metadatas=[{"key": "bm25-old", "name": "f", "part": 0, "parts": 1}],
        embeddings=[[1.0]],
    )
    assert store.get_blob("bm25-old") == {"f": b"old bytes"}


def test_pending_versions_belong_to_one_collection(store):
    assert store.pending_versions("signpost-chunks-a") == frozenset()
    store.mark_pending("signpost-chunks-a", ["doc@1", "doc@2", "doc@1"])
    assert store.pending_versions("signpost-chunks-a") == {"doc@1", "doc@2"}
    assert store.pending_versions("signpost-chunks-b") == frozenset()
    store.mark_pending("signpost-chunks-a", ())
    assert store.pending_versions("signpost-chunks-a") == frozenset()
