import shutil

import pytest

import index.builder as builder_module
from index import ChunkStore, Embedder, HybridRetriever, IndexBuilder
from ingest import chunk_document, load_document
from tests.conftest import CORPUS

GUIDE = CORPUS / "stalking-and-harassment-guidance.md"

EXTRA = """---
id: neighbours
title: Neighbour disputes and harassment
jurisdiction: England and Wales
---

## Noise and neighbours

Repeated shouting at a neighbour over a fence can be part of a course of conduct.

Keeping a diary of each incident helps the council and the police.

## Mediation

Community mediation services can help neighbours agree how to behave.
"""


class OtherModel(Embedder):
    """The real model under another name: the manifest must see a model change."""

    @property
    def model_id(self) -> str:
        return "another-model==1"


@pytest.fixture
def corpus_dir(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(GUIDE, folder / GUIDE.name)
    (folder / "neighbours.md").write_text(EXTRA)
    return folder


@pytest.fixture
def store(tmp_path):
    return ChunkStore(tmp_path / "home")


def chunk_ids(store):
    manifest = store.read_manifest()
    return sorted(c.chunk_id for c in store.chunks(manifest.collection, manifest.doc_keys))


def test_first_ingest_adds_everything_and_repeat_is_a_no_op(store, embedder, corpus_dir):
    first = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert sorted(first.added) == ["neighbours", "stalking-and-harassment-guidance"]
    assert first.embedded_chunks == first.total_chunks == 34
    ids = chunk_ids(store)
    again = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert sorted(again.skipped) == ["neighbours", "stalking-and-harassment-guidance"]
    assert (again.embedded_chunks, again.changed) == (0, False)
    assert chunk_ids(store) == ids


def record_ids(store, doc_id):
    manifest = store.read_manifest()
    return sorted(r.record_id for r in store.records(manifest.collection, manifest.doc_keys) if r.chunk.doc_id == doc_id)


def test_changing_one_document_re_embeds_only_its_chunks_and_copies_nothing(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    before, collection = chunk_ids(store), store.read_manifest().collection
    guidance_records = record_ids(store, "stalking-and-harassment-guidance")
    path = corpus_dir / "neighbours.md"
    path.write_text(EXTRA + "\nA landlord can also take action against a tenant who harasses neighbours.\n")
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert report.updated == ["neighbours"]
    assert report.skipped == ["stalking-and-harassment-guidance"]
    assert report.embedded_chunks == len(chunk_document(load_document(path))) == 4
    after = chunk_ids(store)
    assert len(after) == 35 and set(before) < set(after)
    # Updated in place: same collection, the unchanged document's records untouched.
    # The old version of the changed one is kept for readers of the previous manifest
    # until the next ingest that changes something, then deleted.
    manifest = store.read_manifest()
    assert manifest.collection == collection
    assert record_ids(store, "stalking-and-harassment-guidance") == guidance_records
    assert len(manifest.retired_keys) == 1 and manifest.retired_keys[0].startswith("neighbours@")
    assert store.count(collection) == 35 + 3
    path.write_text(EXTRA)
    IndexBuilder(store, embedder).ingest([corpus_dir])
    assert store.count(collection) == 34 + 4  # now the first change's version is retired


def test_removed_document_is_deleted(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    (corpus_dir / "neighbours.md").unlink()
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert report.removed == ["neighbours"] and report.embedded_chunks == 0
    manifest = store.read_manifest()
    assert list(manifest.documents) == ["stalking-and-harassment-guidance"]
    assert {c.doc_id for c in store.chunks(manifest.collection, manifest.doc_keys)} == {"stalking-and-harassment-guidance"}


def test_removing_every_document_leaves_an_empty_index_that_answers_nothing(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    for path in corpus_dir.iterdir():
        path.unlink()
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert sorted(report.removed) == ["neighbours", "stalking-and-harassment-guidance"] and report.total_chunks == 0
    assert HybridRetriever(store, embedder).load().retrieve("restraining order").kept == []


def test_model_change_forces_full_rebuild(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    report = IndexBuilder(store, OtherModel()).ingest([corpus_dir])
    assert report.rebuilt and "embedding model changed" in report.reason
    assert report.embedded_chunks == 34
    assert store.read_manifest().embedding_model == "another-model==1"


def test_chunker_change_forces_full_rebuild(store, embedder, corpus_dir, monkeypatch):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    monkeypatch.setattr(builder_module, "CHUNKER_VERSION", "paragraph-v999")
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert report.rebuilt and "chunker changed" in report.reason and report.embedded_chunks == 34


def test_broken_file_keeps_its_previous_version_and_others_still_update(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    (corpus_dir / "neighbours.md").write_bytes(b"\xff\xfe broken \x00")
    (corpus_dir / "new.md").write_text("## Online harassment\n\nRepeated abusive messages online can be harassment.\n")
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert [e.path for e in report.failed] == [str(corpus_dir / "neighbours.md")]
    assert report.added == ["new"] and report.removed == []
    assert set(store.read_manifest().documents) == {"neighbours", "new", "stalking-and-harassment-guidance"}


def test_failure_half_way_leaves_previous_index_answering(store, embedder, corpus_dir, monkeypatch):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    before = store.read_manifest()
    retriever = HybridRetriever(store, embedder).load()
    top = retriever.retrieve("keeping a diary of incidents with my neighbour").kept[0].chunk_id

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were stopped mid-write

    monkeypatch.setattr(store, "add", killed)
    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    with pytest.raises(KeyboardInterrupt):
        IndexBuilder(store, embedder).ingest([corpus_dir])
    assert store.read_manifest() == before
    assert store.generations() == [before.collection]
    assert HybridRetriever(store, embedder).load().retrieve("keeping a diary of incidents with my neighbour").kept[0].chunk_id == top


def test_readers_never_see_a_half_written_update(store, embedder, corpus_dir, monkeypatch):
    """Between writing a document's new records and the switch, a reader sees the old
    version only; a failure there removes the new records again."""
    IndexBuilder(store, embedder).ingest([corpus_dir])
    before = store.read_manifest()
    question = "keeping a diary of each incident helps the council"
    seen = []

    def killed_after_add(*args, **kwargs):
        # New records are stored by now; the manifest still names the old version.
        assert store.count(before.collection) == 34 + 3
        seen.extend(p.text for p in HybridRetriever(store, embedder).load().retrieve(question, k=10).kept)
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "put_blob", killed_after_add)
    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    with pytest.raises(KeyboardInterrupt):
        IndexBuilder(store, embedder).ingest([corpus_dir])
    assert any("diary" in t for t in seen) and not any("written log" in t for t in seen)
    assert store.read_manifest() == before
    assert store.count(before.collection) == 34


def test_a_reader_in_another_process_sees_an_in_place_update_on_the_embedded_store(store, embedder, corpus_dir):
    """`signpost ingest` run while `signpost serve` holds the embedded store open: the
    server's in-memory vector index must not hide the new records."""
    import time

    from tests.conftest import run_cli

    IndexBuilder(store, embedder).ingest([corpus_dir])
    reader = HybridRetriever(ChunkStore(store.home), embedder).load()
    question = "keeping a written log of each incident helps the council"
    assert not any("written log" in p.text for p in reader.retrieve(question).kept)
    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    done = run_cli("ingest", "--quiet", str(corpus_dir), env={"SIGNPOST_HOME": str(store.home)})
    assert done.returncode == 0, done.stderr
    time.sleep(1.1)  # the reader checks the manifest about once a second
    dense_only = reader.with_weights(bm25_weight=0.0)
    assert "written log" in dense_only.retrieve(question).kept[0].text


def test_stray_generation_from_a_killed_run_is_cleaned_up(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    stray = store.new_generation()  # what a process killed before the switch leaves
    assert stray in store.generations()
    IndexBuilder(store, embedder).ingest([corpus_dir])
    assert store.generations() == [store.read_manifest().collection]


def test_second_ingest_while_one_runs_is_refused_and_changes_nothing(store, embedder, corpus_dir):
    import fcntl

    from ingest.errors import IndexUnavailable

    IndexBuilder(store, embedder).ingest([corpus_dir])
    before = store.read_manifest()
    with open(store.home / "ingest.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another running ingest would
        with pytest.raises(IndexUnavailable, match="Another `signpost ingest` is running"):
            IndexBuilder(store, embedder).ingest([corpus_dir], rebuild=True)
    assert store.read_manifest() == before
    assert IndexBuilder(store, embedder).ingest([corpus_dir]).changed is False


def test_a_link_out_of_the_corpus_is_reported_and_never_indexed(store, embedder, corpus_dir, tmp_path):
    secret = tmp_path / "env.md"
    secret.write_text("## Settings\n\nSIGNPOST_LLM_API_KEY=sk-secret-value\n", encoding="utf-8")
    (corpus_dir / "notes.md").symlink_to(secret)
    report = IndexBuilder(store, embedder).ingest([corpus_dir])
    assert [(e.path, e.reason) for e in report.failed] == [(str(corpus_dir / "notes.md"), "a link that leads outside the corpus folder (skipped)")]
    manifest = store.read_manifest()
    assert not any("sk-secret-value" in c.text for c in store.chunks(manifest.collection))
    assert report.total_chunks == 34


def test_the_keyword_index_after_a_change_is_a_fresh_build_s(store, embedder, corpus_dir):
    """Unchanged documents' counts come from the cache, or from the store when the cache
    is gone; either way every BM25 score is what a fresh bm25s build over the current
    chunks gives."""
    import bm25s
    import numpy as np

    from index.derived import KeywordIndex, keyword_tokens, write_folder

    def assert_fresh():
        manifest = store.read_manifest()
        folder = store.home / "check" / manifest.keywords
        write_folder(folder, store.get_blob(manifest.keywords))
        index = KeywordIndex.load(folder)
        records = store.records(manifest.collection, manifest.doc_keys)
        fresh = bm25s.BM25()
        fresh.index(keyword_tokens([r.chunk.embed_text for r in records]), show_progress=False)
        assert index.record_ids == [r.record_id for r in records]
        for query in ["keeping a written log of each incident", "non-molestation order", "neighbour mediation council"]:
            terms = [t for t in keyword_tokens([query])[0] if t in fresh.vocab_dict]
            assert np.array_equal(index.scores(query), fresh.get_scores(terms)), query

    IndexBuilder(store, embedder).ingest([corpus_dir])
    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    IndexBuilder(store, embedder).ingest([corpus_dir])
    assert_fresh()
    (store.home / "derived" / "keyword-counts.npz").unlink()  # as on another machine
    (corpus_dir / "neighbours.md").write_text(EXTRA)
    IndexBuilder(store, embedder).ingest([corpus_dir])
    assert_fresh()


def test_a_killed_run_s_records_are_found_by_key_and_deleted_by_the_next_ingest(store, embedder, corpus_dir, monkeypatch):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    before = store.read_manifest()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    with monkeypatch.context() as m:
        m.setattr(store, "put_blob", killed)  # after the new records are stored
        m.setattr(store, "delete_versions", lambda *a, **k: None)  # and dead before undoing them
        with pytest.raises(KeyboardInterrupt):
            IndexBuilder(store, embedder).ingest([corpus_dir])
    assert store.read_manifest() == before
    assert store.count(before.collection) == 34 + 3
    assert len(store.pending_versions(before.collection) - before.stored_keys) == 1
    (corpus_dir / "neighbours.md").write_text(EXTRA)  # as it was: nothing to re-ingest
    assert IndexBuilder(store, embedder).ingest([corpus_dir]).changed is False
    assert store.count(before.collection) == 34
    assert store.pending_versions(before.collection) == frozenset()


def test_a_version_that_comes_back_keeps_its_records(store, embedder, corpus_dir):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    collection = store.read_manifest().collection
    path = corpus_dir / "neighbours.md"
    path.write_text(EXTRA + "\nA landlord can also take action against a tenant who harasses neighbours.\n")
    IndexBuilder(store, embedder).ingest([corpus_dir])
    path.write_text(EXTRA)  # back to the first version, which the manifest lists as retired
    assert IndexBuilder(store, embedder).ingest([corpus_dir]).updated == ["neighbours"]
    assert len(chunk_ids(store)) == 34
    assert store.count(collection) == 34 + 4  # the second version is retired now
    assert "Keeping a diary" in " ".join(p.text for p in HybridRetriever(store, embedder).load().retrieve("keeping a diary of each incident", k=10).kept)


def test_unchanged_files_are_hashed_not_parsed(store, embedder, corpus_dir, monkeypatch):
    IndexBuilder(store, embedder).ingest([corpus_dir])
    parsed = []
    real = builder_module.load_document
    monkeypatch.setattr(builder_module, "load_document", lambda path, *a: parsed.append(path.name) or real(path, *a))
    assert IndexBuilder(store, embedder).ingest([corpus_dir]).changed is False
    assert parsed == []
    (corpus_dir / "neighbours.md").write_text(EXTRA.replace("diary", "written log"))
    assert IndexBuilder(store, embedder).ingest([corpus_dir]).updated == ["neighbours"]
    assert parsed == ["neighbours.md"]


def test_a_report_on_many_documents_counts_them_instead_of_naming_each():
    few = builder_module.IngestReport(skipped=["a", "b"])
    many = builder_module.IngestReport(skipped=[f"doc-{i:04d}" for i in range(2000)], updated=["doc-9999"])
    assert "skipped (unchanged): a, b" in few.lines()
    lines = many.lines()
    assert "skipped (unchanged): 2,000 documents (doc-0000, doc-0001, doc-0002 and 1,997 more)" in lines
    assert "updated: doc-9999" in lines
    assert sum(len(line) for line in lines) < 400
