"""Incremental, all-or-nothing ingest of guidance files into the index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from index.embedder import Embedder
from index.store import ChunkStore, Manifest
from ingest import CHUNKER_VERSION, CorpusError, Document, chunk_document, discover_files, load_document
from ingest.errors import IndexUnavailable


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[CorpusError] = field(default_factory=list)
    embedded_chunks: int = 0
    copied_chunks: int = 0
    total_chunks: int = 0
    rebuilt: bool = False
    reason: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def lines(self) -> list[str]:
        out = [
            f"added: {', '.join(self.added) or '-'}",
            f"updated: {', '.join(self.updated) or '-'}",
            f"removed: {', '.join(self.removed) or '-'}",
            f"skipped (unchanged): {', '.join(self.skipped) or '-'}",
            f"chunks: {self.total_chunks} in index, {self.embedded_chunks} embedded, {self.copied_chunks} reused",
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
        docs: dict[str, Document] = {}
        paths_by_doc: dict[str, str] = {}
        failed_paths: set[str] = set()
        refused: list[CorpusError] = []
        found = discover_files(paths, refused)
        report.failed.extend(refused)  # reported, and not kept: a refused link's old version is removed
        for path in found:
            try:
                doc = load_document(path, self.max_file_bytes)
            except CorpusError as err:
                report.failed.append(CorpusError(str(path), err.reason))
                failed_paths.add(str(path.resolve()))
                continue
            if doc.doc_id in docs:
                report.failed.append(CorpusError(str(path), f"document id {doc.doc_id!r} is already used by {paths_by_doc[doc.doc_id]}"))
                continue
            docs[doc.doc_id] = doc
            paths_by_doc[doc.doc_id] = str(path.resolve())

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

        to_embed: list[Document] = []
        keep_previous: list[str] = []
        for doc_id, doc in docs.items():
            old = previous.get(doc_id)
            if old is None:
                report.added.append(doc_id)
                to_embed.append(doc)
            elif report.rebuilt or old.get("sha256") != doc.content_hash:
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
            self._drop_strays(manifest)
            return report

        chunks_by_doc = {doc.doc_id: chunk_document(doc) for doc in to_embed}
        new_chunks = [c for cs in chunks_by_doc.values() for c in cs]
        vectors = {
            "text": self.embedder.embed([c.text for c in new_chunks], progress=progress),
            "heading": self.embedder.embed([c.embed_text for c in new_chunks], progress=progress),
        }

        name = self.store.new_generation()
        try:
            if manifest is not None and not report.rebuilt:
                report.copied_chunks = self.store.copy_documents(manifest.collection, name, keep_previous)
            self.store.add(name, new_chunks, vectors)
            report.embedded_chunks = len(new_chunks)
            documents = {d: previous[d] for d in keep_previous if d in previous and not report.rebuilt}
            for doc in to_embed:
                documents[doc.doc_id] = {
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
            new_manifest = Manifest(
                collection=name,
                embedding_model=self.embedder.model_id,
                embedding_dim=int(vectors["text"].shape[1]) if new_chunks else (manifest.embedding_dim if manifest else 0),
                chunker_version=CHUNKER_VERSION,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                documents=documents,
            )
            stored = self.store.count(name)
            if stored != new_manifest.chunk_count:
                raise IndexUnavailable(f"Index check failed: {stored} chunks stored, {new_manifest.chunk_count} expected; the previous index is kept. Run `signpost ingest` again.")
        except BaseException:
            self.store.drop(name)  # the previous generation stays current
            raise
        self.store.write_manifest(new_manifest)
        report.total_chunks = new_manifest.chunk_count
        self._drop_strays(new_manifest)
        return report

    def _drop_strays(self, current: Manifest | None) -> None:
        for name in self.store.generations():
            if current is None or name != current.collection:
                self.store.drop(name)
