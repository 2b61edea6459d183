import base64
import uuid

import pytest

import index.store as store_module
from index import ChunkStore
from ingest.errors import IndexUnavailable

FILES = {"data.npy": bytes(range(256)) * 3, "ids.json": b'["a", "b"]', "empty": b""}


@pytest.fixture
def store(tmp_path):
    return ChunkStore(tmp_path / "home")


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def any_store(request, tmp_path):
    """An embedded store, and one on a real Chroma server (shared by the session's tests)."""
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return ChunkStore(tmp_path / "home", url)


def test_a_blob_comes_back_whole(any_store, monkeypatch):
    monkeypatch.setattr(store_module, "_BLOB_PART", 7)  # many parts in Chroma
    key = f"bm25-{uuid.uuid4().hex[:12]}"
    any_store.put_blob(key, FILES)
    assert any_store.get_blob(key) == FILES


def test_an_embedded_store_keeps_blobs_in_its_folder_not_in_chroma(store):
    store.put_blob("bm25-one", FILES)
    assert store.blob_folder("bm25-one").is_dir()
    assert store._blob_collection().count() == 0


@pytest.mark.server
def test_a_server_store_keeps_blobs_in_chroma(tmp_path, chroma_server):
    writer, reader = ChunkStore(tmp_path / "writer", chroma_server), ChunkStore(tmp_path / "reader", chroma_server)
    key = f"bm25-{uuid.uuid4().hex[:12]}"
    writer.put_blob(key, FILES)
    assert reader.get_blob(key) == FILES  # another machine, another home


def test_dropping_blobs_keeps_only_those_named(store):
    store.put_blob("bm25-one", FILES)
    store.put_blob("bm25-two", {"x": b"other"})
    store.drop_blobs(keep=["bm25-two"])
    with pytest.raises(IndexUnavailable, match="bm25-one is missing"):
        store.get_blob("bm25-one")
    assert store.get_blob("bm25-two") == {"x": b"other"}


def test_a_blob_stored_in_chroma_documents_by_an_earlier_version_still_reads(any_store):
    key = f"bm25-{uuid.uuid4().hex[:12]}"
    any_store._blob_collection().upsert(
        ids=[f"{key}/f/0"],
        documents=[base64.b64encode(b"old bytes").decode("ascii")],
        metadatas=[{"key": key, "name": "f", "part": 0, "parts": 1}],
        embeddings=[[1.0]],
    )
    assert any_store.get_blob(key) == {"f": b"old bytes"}


def test_pending_versions_belong_to_one_collection(store):
    assert store.pending_versions("signpost-chunks-a") == frozenset()
    store.mark_pending("signpost-chunks-a", ["doc@1", "doc@2", "doc@1"])
    assert store.pending_versions("signpost-chunks-a") == {"doc@1", "doc@2"}
    assert store.pending_versions("signpost-chunks-b") == frozenset()
    store.mark_pending("signpost-chunks-a", ())
    assert store.pending_versions("signpost-chunks-a") == frozenset()
