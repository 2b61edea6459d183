"""Incremental, all-or-nothing ingest of guidance files into the index.

Each changed document is encoded once: one pass of the model gives the chunk's vector
and its sentences' vectors (index/embedder.py). The BM25 index is recomputed from
cached keyword counts (only changed documents are tokenized) and stored with the
generation. Unchanged documents are neither re-embedded nor copied.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.derived import KeywordCounts, KeywordIndex, folder_files, keyword_tokens, pack_spans, pack_vectors, sentence_spans
from index.embedder import Embedder
from index.store import ChunkStore, Manifest, StoredChunk, doc_key
from ingest import CHUNKER_VERSION, CorpusError, Document, chunk_document, content_hash, discover_files, load_document
from ingest.errors import IndexUnavailable


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[CorpusError] = field(default_factory=list)
    embedded_chunks: int = 0
    total_chunks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    rebuilt: bool = False
    reason: str = ""

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the block's wall time to `seconds[phase]` (for the scale benchmark)."""
        clock = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - clock

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def lines(self) -> list[str]:
        out = [
            f"added: {_names(self.added)}",
            f"updated: {_names(self.updated)}",
            f"removed: {_names(self.removed)}",
            f"skipped (unchanged): {_names(self.skipped)}",
            f"chunks: {self.total_chunks} in index, {self.embedded_chunks} embedded, {self.total_chunks - self.embedded_chunks} kept as they were",
        ]
        if self.rebuilt:
            out.insert(0, f"full rebuild: {self.reason}")
        return out


class IndexBuilder:
    def __init__(self, store: ChunkStore, embedder: Embedder, max_file_bytes: int | None = None):
        self.store = store
        self.embedder = embedder
        self.max_file_bytes = max_file_bytes

    def ingest(self, paths: list[Path], rebuild: bool = False, progress: bool = False) -> IngestReport:
        """Bring the index in line with `paths`: what is not there is removed.

        A file that fails to load keeps its previously indexed version and is listed
        in `failed`; nothing is switched until the new generation is complete.
        """
        with self.store.ingest_lock():
            return self._ingest(paths, rebuild, progress)

    def _ingest(self, paths: list[Path], rebuild: bool, progress: bool) -> IngestReport:
        report = IngestReport()
        with report.timed("read_manifest"):
            manifest = self.store.read_manifest()
        model_id = self.embedder.model_id
        if rebuild:
            report.rebuilt, report.reason = True, "asked for (--rebuild)"
        elif manifest is None:
            report.rebuilt, report.reason = True, "no index yet"
        elif manifest.embedding_model != model_id:
            report.rebuilt, report.reason = True, f"embedding model changed ({manifest.embedding_model} -> {model_id})"
        elif manifest.chunker_version != CHUNKER_VERSION:
            report.rebuilt, report.reason = True, f"chunker changed ({manifest.chunker_version} -> {CHUNKER_VERSION})"
        previous = {} if manifest is None else manifest.documents
        known = {} if report.rebuilt else {d.get("path"): (doc_id, d.get("sha256")) for doc_id, d in previous.items()}
        with report.timed("load_files"):
            docs, paths_by_doc, failed_paths = self._load(paths, known, report)

        to_embed: list[Document] = []
        keep_previous: list[str] = []
        for doc_id, doc in docs.items():
            old = previous.get(doc_id)
            if old is None:
                report.added.append(doc_id)
                to_embed.append(doc)
            elif doc is not None and (report.rebuilt or old.get("sha256") != doc.content_hash):
                (report.added if report.rebuilt else report.updated).append(doc_id)
                to_embed.append(doc)
            else:
                report.skipped.append(doc_id)
                keep_previous.append(doc_id)
        for doc_id, old in previous.items():
            if doc_id in docs:
                continue
            if old.get("path") in failed_paths and not report.rebuilt:
                keep_previous.append(doc_id)  # broken now: keep what answered before
            else:
                # A rebuild cannot reuse old vectors, so a broken file drops out of it.
                report.removed.append(doc_id)

        if not report.changed:
            report.total_chunks = manifest.chunk_count if manifest else 0
            self._drop_strays(manifest, report)
            return report

        with report.timed("chunk"):
            chunks_by_doc = {doc.doc_id: chunk_document(doc) for doc in to_embed}
        new_records = [StoredChunk(c, doc_key(doc.doc_id, doc.content_hash)) for doc in to_embed for c in chunks_by_doc[doc.doc_id]]

        documents = {d: previous[d] for d in keep_previous if d in previous and not report.rebuilt}
        for doc in to_embed:
            documents[doc.doc_id] = {
                "key": doc_key(doc.doc_id, doc.content_hash),
                "title": doc.title,
                "source": doc.source,
                "path": paths_by_doc[doc.doc_id],
                "sha256": doc.content_hash,
                "jurisdiction": doc.jurisdiction,
                "last_reviewed": doc.last_reviewed,
                "chunks": len(chunks_by_doc[doc.doc_id]),
                "sections": doc.sections,
                "questions": [list(q) for q in doc.questions()],
            }
        in_place = manifest is not None and not report.rebuilt
        name = manifest.collection if in_place else self.store.new_generation()
        new_keys = frozenset(r.doc_key for r in new_records)
        keywords = f"bm25-{uuid.uuid4().hex[:12]}"
        if in_place:
            # Before the first record is written: the versions this run adds, and those
            # it will make unreachable, so that a crash anywhere leaves them findable by key.
            with report.timed("mark_pending"):
                self.store.mark_pending(name, self.store.pending_versions(name) | new_keys | frozenset(manifest.retired_keys))
        try:
            with report.timed("encode_and_store"):
                records, dim = self._encode_and_store(name, new_records, progress, report)
            report.embedded_chunks = len(records)
            with report.timed("keywords"):
                self._store_keywords(name, keywords, documents, records, report)
            new_manifest = Manifest(
                collection=name,
                embedding_model=self.embedder.model_id,
                embedding_dim=dim or (manifest.embedding_dim if manifest else 0),
                chunker_version=CHUNKER_VERSION,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                documents=documents,
                generation=uuid.uuid4().hex[:12],
                keywords=keywords,
                retired_keywords=manifest.keywords if in_place else "",
            )
            if in_place:
                new_manifest.retired_keys = sorted(manifest.doc_keys - new_manifest.doc_keys)
            with report.timed("check_count"):
                stored = self.store.count_versions(name, new_keys)
            if stored != len(records):
                raise IndexUnavailable(f"Index check failed: {stored} chunks stored, {len(records)} expected; the previous index is kept. Run `signpost ingest` again.")
        except BaseException:
            # The previous generation stays current: undo what this run added.
            if in_place:
                self.store.delete_versions(name, new_keys - manifest.stored_keys)
            else:
                self.store.drop(name)
            self.store.drop_blobs(keep=[manifest.keywords, manifest.retired_keywords] if manifest else [])
            raise
        with report.timed("manifest_write"):
            self.store.write_manifest(new_manifest)  # the switch: one write
        report.total_chunks = new_manifest.chunk_count
        self._drop_strays(new_manifest, report)
        return report

    def _load(self, paths: list[Path], known: dict[str, tuple[str, str]], report: IngestReport) -> tuple[dict[str, Document | None], dict[str, str], set[str]]:
        """Load the files: {doc id: document}, their paths, and the paths that failed.

        A file whose path and bytes are as the manifest lists them (`known`: path ->
        (doc id, sha256)) is hashed, not parsed: its document is None."""
        docs: dict[str, Document | None] = {}
        paths_by_doc: dict[str, str] = {}
        failed_paths: set[str] = set()
        refused: list[CorpusError] = []
        found = discover_files(paths, refused)
        report.failed.extend(refused)  # reported, and not kept: a refused link's old version is removed
        for path in found:
            resolved = str(path.resolve())
            doc: Document | None = None
            same = known.get(resolved)
            if same is None or not self._unchanged(path, same[1]):
                try:
                    doc = load_document(path, self.max_file_bytes)
                except CorpusError as err:
                    report.failed.append(CorpusError(str(path), err.reason))
                    failed_paths.add(resolved)
                    continue
            doc_id = doc.doc_id if doc is not None else same[0]
            if doc_id in docs:
                report.failed.append(CorpusError(str(path), f"document id {doc_id!r} is already used by {paths_by_doc[doc_id]}"))
                continue
            docs[doc_id] = doc
            paths_by_doc[doc_id] = resolved
        return docs, paths_by_doc, failed_paths

    def _unchanged(self, path: Path, sha256: str) -> bool:
        try:
            if self.max_file_bytes is not None and path.stat().st_size > self.max_file_bytes:
                return False  # load_document says why
            return content_hash(path.read_bytes()) == sha256
        except OSError:
            return False

    def _encode_and_store(self, name: str, records: list[StoredChunk], progress: bool, report: IngestReport) -> tuple[list[StoredChunk], int]:
        """Encode block by block while a second thread stores the block before: Chroma's
        writes overlap the encoder instead of following it. Returns the stored records
        and the vector size."""
        from concurrent.futures import ThreadPoolExecutor

        bar = _progress_bar(len(records)) if progress and records else None
        stored: list[StoredChunk] = []
        dim = 0

        def add(block: list[StoredChunk], vectors: np.ndarray) -> None:
            with report.timed("chroma_add"):
                self.store.add(name, block, vectors)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="chroma-writer") as writer:
                pending = []
                for start in range(0, len(records), _BLOCK):
                    with report.timed("encode"):
                        vectors, block = self._encode(records[start : start + _BLOCK], bar)
                    dim = int(vectors.shape[1])
                    pending.append(writer.submit(add, block, vectors))
                    stored.extend(block)
                    if len(pending) > 2:
                        pending.pop(0).result()  # bounded memory; a failed write stops us early
                for future in pending:
                    future.result()
        finally:
            if bar is not None:
                bar.close()
        return stored, dim

    def _encode(self, records: list[StoredChunk], bar=None) -> tuple[np.ndarray, list[StoredChunk]]:
        """One encoder pass per chunk: its vector, and its sentences' spans and vectors."""
        from dataclasses import replace

        texts = [r.chunk.embed_text for r in records]
        offsets = [len(r.chunk.embed_text) - len(r.chunk.text) for r in records]
        spans = [sentence_spans(r.chunk.text) for r in records]
        shifted = [[(a + o, b + o) for a, b in s] for s, o in zip(spans, offsets, strict=True)]
        vectors, sentence_vectors = self.embedder.embed_with_spans(texts, shifted, progress=bar.update if bar else None)
        return vectors, [replace(r, sentences=pack_spans(s), sentence_vectors=pack_vectors(v)) for r, s, v in zip(records, spans, sentence_vectors, strict=True)]

    def _store_keywords(self, name: str, key: str, documents: dict[str, dict], new_records: list[StoredChunk], report: IngestReport) -> None:
        """Build the BM25 index over every current chunk and store it with the generation.

        Unchanged documents' keyword counts come from the local cache; the store is read
        only for a document the cache lacks (another machine ingested it)."""
        cache_path = self.store.home / "derived" / "keyword-counts.npz"
        new_by_key: dict[str, list[StoredChunk]] = {}
        for r in new_records:
            new_by_key.setdefault(r.doc_key, []).append(r)
        with report.timed("keywords_counts"):
            cached = KeywordCounts.load(cache_path)
            have = {} if cached is None else dict(zip(cached.doc_keys, cached.doc_chunks.tolist(), strict=True))
            parts: list[tuple[KeywordCounts, str]] = []
            for doc_id in sorted(documents):
                k = documents[doc_id]["key"]
                if k not in new_by_key and have.get(k) == documents[doc_id]["chunks"]:
                    parts.append((cached, k))
                    continue
                recs = new_by_key.get(k) or self.store.records(name, [k])
                parts.append((KeywordCounts.of_document(k, [r.record_id for r in recs], keyword_tokens([r.chunk.embed_text for r in recs])), k))
            counts = KeywordCounts.join(parts)
            counts.save(cache_path)
        with report.timed("keywords_build"):
            index = KeywordIndex.from_counts(counts)
        with report.timed("keywords_save"), tempfile.TemporaryDirectory(prefix=".build-", dir=cache_path.parent) as scratch:
            index.save(Path(scratch))
            files = folder_files(Path(scratch))
        with report.timed("keywords_blob_put"):
            self.store.put_blob(key, files)

    def _drop_strays(self, current: Manifest | None, report: IngestReport) -> None:
        """Delete what no reader can reach: old collections, old document versions, old blobs."""
        with report.timed("sweep_collections"):
            for name in self.store.generations():
                if current is None or name != current.collection:
                    self.store.drop(name)
        keep_keywords = [current.keywords, current.retired_keywords] if current else []
        if current is not None:
            with report.timed("sweep_old_versions"):
                # Only pending versions can be unreachable: what an earlier run was adding
                # when it died, and what the version before this one had retired.
                pending = self.store.pending_versions(current.collection)
                if pending - current.stored_keys:
                    self.store.delete_versions(current.collection, pending - current.stored_keys)
                if pending:
                    self.store.mark_pending(current.collection, ())
        with report.timed("sweep_blobs"):
            self.store.drop_blobs(keep=keep_keywords)


_BLOCK = 256  # chunks encoded before their block is handed to the writer
_NAMED = 10  # a report names at most this many documents per line


def _names(doc_ids: list[str]) -> str:
    """The documents, or how many with the first few: a large corpus's report stays readable."""
    if len(doc_ids) <= _NAMED:
        return ", ".join(doc_ids) or "-"
    return f"{len(doc_ids):,} documents ({', '.join(doc_ids[:3])} and {len(doc_ids) - 3:,} more)"


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="embedding", dynamic_ncols=True)
