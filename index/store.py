"""Chroma storage for chunks, with a manifest that says which document versions are current.

Every chunk record carries its document version (`doc_key`, the document id and a hash
of its content). An ingest that changes one document adds that document's new records
beside the old ones, then switches the manifest (one write) to list the new version.
The replaced version stays stored until the next ingest that changes something (a
reader may hold the previous manifest for up to a second), and is deleted then.
A reader only uses records whose `doc_key` the manifest
it read lists, so it sees the old generation or the new one, never a mix, and unchanged
documents are never copied. A failure or a killed process before the switch leaves the
previous generation answering; the versions it was adding were recorded as pending
before the first record was written, so the next ingest deletes its leftovers by key
(old versions are never found by scanning every record).
A full rebuild (a new embedding model or chunker) writes a new collection instead.

The manifest lives in Chroma itself, and so do the derived-data blobs (the BM25 index)
when Chroma is a server, so replicas that share a Chroma server see the same index. An
embedded store keeps its blobs as folders beside it, in SIGNPOST_HOME, which every
process that opens it shares.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.derived import folder_files, write_folder
from ingest.errors import IndexUnavailable
from ingest.model import Chunk

MANIFEST_COLLECTION = "signpost-manifest"
MANIFEST_ID = "current"
PENDING_ID = "pending"  # document versions written, or to delete, that no manifest may list
GENERATION_PREFIX = "signpost-chunks-"
BLOB_COLLECTION = "signpost-blobs"
MANIFEST_VERSION = 6  # bump when the stored layout changes: forces a rebuild
# Chroma's HNSW defaults gave poor recall at scale (DESIGN.md); set at creation. Measured
# on the 100,000-chunk benchmark (300 of its queries, recall@10 against exact search):
# ef_search 128 gave 0.943, 256 0.977, 512 0.992 (built with ef_construction 200).
# Building with ef_construction 100 takes about half the CPU (38 s against 72 s for
# 30,000 vectors; 231 CPU-s for 100,000) and, searched with ef_search 768, gives 0.990.
# Building competes with the encoder at ingest; searching costs a few milliseconds per
# question. (ef_search can be changed later with `collection.modify`, but a client that
# has the index open keeps the value it loaded.)
DEFAULT_HNSW = {"space": "cosine", "ef_construction": 100, "ef_search": 768, "max_neighbors": 32}
_BATCH = 500
_BLOB_PART = 1_000_000  # bytes per stored blob record
_KEYS_PER_CALL = 100  # document versions per metadata filter


def doc_key(doc_id: str, content_hash: str) -> str:
    """One version of one document."""
    return f"{doc_id}@{content_hash[:16]}"


def doc_key_of(record_id: str) -> str:
    """The document version a record belongs to, read from its id (no metadata fetch)."""
    return record_id.rsplit("/", 1)[0]


def chunk_id_of(record_id: str) -> str:
    """The chunk a record holds, read from its id."""
    return record_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored: the chunk, its version, and its derived sentence data."""

    chunk: Chunk
    doc_key: str
    sentences: str = ""  # packed character spans (index/derived.py)
    sentence_vectors: str = ""  # packed float16 vectors

    @property
    def record_id(self) -> str:
        return f"{self.doc_key}/{self.chunk.chunk_id}"


@dataclass
class Manifest:
    collection: str
    embedding_model: str
    embedding_dim: int
    chunker_version: str
    created_at: str
    documents: dict[str, dict] = field(default_factory=dict)
    generation: str = ""  # changes with every switch; replicas poll it
    keywords: str = ""  # blob key of the BM25 index
    # What this generation replaced, kept until the next ingest: a reader still on the
    # previous manifest (for up to a second) keeps finding its records and keywords.
    retired_keys: list[str] = field(default_factory=list)
    retired_keywords: str = ""
    version: int = MANIFEST_VERSION

    @cached_property
    def doc_keys(self) -> frozenset[str]:
        return frozenset(d["key"] for d in self.documents.values())

    @property
    def stored_keys(self) -> frozenset[str]:
        """Every document version that must stay stored: current and just retired."""
        return self.doc_keys | frozenset(self.retired_keys)

    @property
    def chunk_count(self) -> int:
        return sum(int(d.get("chunks", 0)) for d in self.documents.values())

    def questions(self) -> list[tuple[str, str]]:
        """The guidance's own section-end questions, as (section, question)."""
        return [tuple(q) for d in self.documents.values() for q in d.get("questions", [])]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _describe(url: str | None, home: Path) -> str:
    return f"the Chroma server at {url}" if url else f"the local index in {home}"


def _certificate_refused(exc: BaseException | None) -> bool:
    """Whether a TLS certificate check failed anywhere in the exception's chain."""
    seen = 0
    while exc is not None and seen < 10:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


class ChunkStore:
    """Chroma access for Signpost: manifest, generations, chunk vectors."""

    _local_epoch = 0  # bumped by refresh(): embedded clients made before it are stale

    def __init__(self, home: Path, url: str | None = None, hnsw: dict | None = None, token: str | None = None, ca_file: Path | None = None):
        self.home = Path(home)
        self.url = url
        self._token, self._ca_file = token, ca_file
        self.hnsw = {**DEFAULT_HNSW, **(hnsw or {})}
        self._client = None
        self._epoch = 0
        self._handles: dict[str, Any] = {}  # collection name -> handle (a lookup saved per call)
        # Embedded client calls go one at a time, so that refresh() never swaps the client
        # under a running call; they are short (ids-only searches, a few records).
        self._local_lock = threading.RLock()

    @property
    def where(self) -> str:
        return _describe(self.url, self.home)

    def refresh(self) -> None:
        """See what another process wrote. An embedded client keeps its vector index in
        memory and does not notice records another process (`signpost ingest`) added to
        the collection, so it is closed and opened again from disk; a Chroma server
        needs nothing."""
        if self.url:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._local_lock:
            self._handles.clear()
            self._client = None
            SharedSystemClient.clear_system_cache()  # else the same in-memory index comes back
            ChunkStore._local_epoch += 1  # every store in this process shared that cache: reconnect

    @property
    def client(self):
        if self._client is None or self._epoch != ChunkStore._local_epoch:
            self._handles.clear()
            self._client, self._epoch = self._connect(), ChunkStore._local_epoch
        return self._client

    def _connect(self):
        # Imported here: chromadb pulls in a lot, and `signpost --help` must stay instant.
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from chromadb.errors import ChromaAuthError

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.url:
                from urllib.parse import urlparse

                parsed = urlparse(self.url)
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise IndexUnavailable(f"SIGNPOST_CHROMA_URL must look like https://host:8000, not {self.url!r}")
                if self._ca_file is not None and not Path(self._ca_file).is_file():
                    raise IndexUnavailable(f"SIGNPOST_CHROMA_CA_FILE {self._ca_file} is not a file")
                server_settings = ChromaSettings(
                    anonymized_telemetry=False,
                    # Chroma's token authentication: "Authorization: Bearer <token>"
                    chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider" if self._token else None,
                    chroma_client_auth_credentials=self._token,
                    chroma_server_ssl_verify=str(self._ca_file) if self._ca_file else None,
                )
                client = chromadb.HttpClient(  # asks the server who we are: a wrong token fails here
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=server_settings,
                )
                client.heartbeat()
                return client
            self.home.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.home / "chroma"), settings=chroma_settings)
        except IndexUnavailable:
            raise
        except ChromaAuthError:
            problem = "refused the token in SIGNPOST_CHROMA_TOKEN" if self._token else "asks for a token: set SIGNPOST_CHROMA_TOKEN"
            raise IndexUnavailable(f"The Chroma server at {self.url} {problem}.") from None
        except Exception as exc:  # chromadb raises many types for "cannot reach"
            if _certificate_refused(exc):
                raise IndexUnavailable(f"The Chroma server at {self.url} has a certificate this machine does not trust; set SIGNPOST_CHROMA_CA_FILE to the CA that signed it.") from None
            raise IndexUnavailable(f"Cannot open {self.where}: {type(exc).__name__}. Is it running?") from None

    @contextmanager
    def _guard(self, what: str):
        """Turn any Chroma fault inside the block into one IndexUnavailable line."""
        try:
            with self._serial():
                yield
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"Could not {what} in {self.where} ({type(exc).__name__}).") from exc

    @contextmanager
    def _serial(self):
        if self.url:
            yield  # a Chroma server takes concurrent requests
        else:
            with self._local_lock:
                yield

    @contextmanager
    def ingest_lock(self):
        """One ingest at a time on an embedded store: a second one would drop the
        first one's new generation as a stray. (With a Chroma server, run ingest from
        one place at a time.)"""
        if self.url:
            yield
            return
        import fcntl

        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "ingest.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexUnavailable(f"Another `signpost ingest` is running on {self.where}; try again when it has finished.") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- manifest ---------------------------------------------------------------

    def _own_collection(self, name: str):
        """A collection of Signpost's own (manifest, blobs), created on first use; the
        handle is kept, saving a lookup per call."""
        if name not in self._handles:
            self._handles[name] = self.client.get_or_create_collection(name, embedding_function=None)
        return self._handles[name]

    def _manifest_collection(self):
        return self._own_collection(MANIFEST_COLLECTION)

    def read_manifest(self) -> Manifest | None:
        with self._guard("read the index manifest"):
            got = self._manifest_collection().get(ids=[MANIFEST_ID], include=["documents"])
        docs = got.get("documents") or []
        if not docs or not docs[0]:
            return None
        manifest = Manifest.from_json(docs[0])
        return manifest if manifest.version == MANIFEST_VERSION else None

    def write_manifest(self, manifest: Manifest) -> None:
        # One upsert of one record: the switch to a new generation is atomic.
        with self._guard("write the index manifest"):
            self._manifest_collection().upsert(ids=[MANIFEST_ID], documents=[manifest.to_json()], metadatas=[{"generation": manifest.generation}], embeddings=[[1.0]])

    def pending_versions(self, name: str) -> frozenset[str]:
        """Document versions an ingest may have written to collection `name` that the
        manifest may not list (see `mark_pending`)."""
        with self._guard("read the index manifest"):
            got = self._manifest_collection().get(ids=[PENDING_ID], include=["documents"])
        docs = got.get("documents") or []
        data = json.loads(docs[0]) if docs and docs[0] else {}
        return frozenset(data.get("keys", [])) if data.get("collection") == name else frozenset()

    def mark_pending(self, name: str, keys: Iterable[str]) -> None:
        """Record, before writing them, the document versions an ingest is about to
        add to collection `name` (and those it will retire), so that whatever a crash
        leaves behind is found by key and deleted by the next ingest."""
        record = json.dumps({"collection": name, "keys": sorted(set(keys))})
        with self._guard("write the index manifest"):
            self._manifest_collection().upsert(ids=[PENDING_ID], documents=[record], embeddings=[[1.0]])

    def current_generation(self) -> str | None:
        """The current generation's id, without reading the whole manifest (cheap to poll)."""
        with self._guard("read the index manifest"):
            got = self._manifest_collection().get(ids=[MANIFEST_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str((metas[0] or {}).get("generation", "")) if metas else None

    # --- generations -------------------------------------------------------------

    def new_generation(self) -> str:
        name = f"{GENERATION_PREFIX}{uuid.uuid4().hex[:12]}"
        with self._guard("create a collection"):
            self.client.create_collection(name, configuration={"hnsw": dict(self.hnsw)}, embedding_function=None)
        return name

    def generations(self) -> list[str]:
        with self._guard("list collections"):
            return [c.name for c in self.client.list_collections() if c.name.startswith(GENERATION_PREFIX)]

    def drop(self, name: str) -> None:
        with self._guard("delete an old collection"):
            self._handles.pop(name, None)
            try:
                self.client.delete_collection(name)
            except Exception:
                pass  # already gone: another ingest cleaned it up

    def _collection(self, name: str):
        if name in self._handles:
            return self._handles[name]
        try:
            with self._serial():
                self._handles[name] = self.client.get_collection(name, embedding_function=None)
            return self._handles[name]
        except IndexUnavailable:
            raise
        except Exception:
            raise IndexUnavailable(f"The index collection {name} is missing from {self.where}; run `signpost ingest --rebuild`.") from None

    # --- chunks ------------------------------------------------------------------

    def add(self, name: str, records: list[StoredChunk], vectors: np.ndarray) -> None:
        """Store chunk records with their vectors (`vectors[i]` is `records[i]`'s)."""
        collection = self._collection(name)
        with self._guard("store chunks"):
            for start in range(0, len(records), _BATCH):
                part = records[start : start + _BATCH]
                collection.upsert(  # upsert: a killed run may have left the same records
                    ids=[r.record_id for r in part],
                    embeddings=vectors[start : start + _BATCH],
                    metadatas=[_metadata(r) for r in part],
                )

    def delete_versions(self, name: str, keys: Iterable[str]) -> None:
        """Delete the records of these document versions (found by key, not by a scan)."""
        keys = sorted(set(keys))
        collection = self._collection(name)
        with self._guard("delete old chunks"):
            for start in range(0, len(keys), _KEYS_PER_CALL):
                collection.delete(where={"doc_key": {"$in": keys[start : start + _KEYS_PER_CALL]}})

    def count_versions(self, name: str, keys: Iterable[str]) -> int:
        """How many records belong to these document versions."""
        keys = sorted(set(keys))
        if not keys:
            return 0
        with self._guard("count chunks"):
            return len(self._collection(name).get(where={"doc_key": {"$in": keys}}, include=[])["ids"])

    def records(self, name: str, keys: Iterable[str] | None = None) -> list[StoredChunk]:
        """All records (of some document versions), in document order."""
        collection = self._collection(name)
        where = {"doc_key": {"$in": sorted(set(keys))}} if keys is not None else None
        if keys is not None and not where["doc_key"]["$in"]:
            return []
        out: list[StoredChunk] = []
        with self._guard("read chunks"):
            offset = 0
            while True:
                got = collection.get(where=where, include=["metadatas"], limit=_BATCH, offset=offset)
                out.extend(_to_record(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True))
                if len(got["ids"]) < _BATCH:
                    break
                offset += _BATCH
        out.sort(key=lambda r: (r.chunk.doc_id, r.chunk.position))
        return out

    def chunks(self, name: str, keys: Iterable[str] | None = None) -> list[Chunk]:
        return [r.chunk for r in self.records(name, keys)]

    def get(self, name: str, record_ids: list[str]) -> list[StoredChunk]:
        if not record_ids:
            return []
        with self._guard("read chunks"):
            got = self._collection(name).get(ids=record_ids, include=["metadatas"])
        return [_to_record(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]

    def count(self, name: str) -> int:
        with self._guard("count chunks"):
            return self._collection(name).count()

    def query_ids(self, name: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k nearest record ids with cosine similarity, best first (any version).

        Ids only: reading the records' metadata (sentence vectors) costs more than the
        search, so only the passages finally shown are read (`get`)."""
        collection = self._collection(name)
        with self._guard("search the index"):
            got = collection.query(query_embeddings=[vector], n_results=max(1, k), include=["distances"])
        return [(i, 1.0 - float(dist)) for i, dist in zip(got["ids"][0], got["distances"][0], strict=True)]

    # --- blobs (derived files every replica needs) ---------------------------------

    def blob_folder(self, key: str) -> Path:
        """Where a blob's files are on this machine (readers memory-map them from here)."""
        return self.home / "derived" / key

    def _blob_collection(self):
        return self._own_collection(BLOB_COLLECTION)

    def put_blob(self, key: str, files: dict[str, bytes]) -> None:
        """Store derived files with the index, for every reader of this store: in Chroma
        when it is a server (replicas on other machines fetch them); in `blob_folder`
        when it is embedded, since every reader of an embedded store shares its folder
        (and storing in Chroma cost about 1 s per 10 MB, the BM25 index being ~0.5 MB
        per 1,000 chunks, plus as much again to delete it later)."""
        if not self.url:
            write_folder(self.blob_folder(key), files)
            return
        # The bytes go in a metadata field, not the record's document: Chroma indexes
        # every document for full-text search (trigrams), which made storing and deleting
        # a 10 MB blob take 20-30 s each instead of about 1 s.
        ids, metas = [], []
        for name, data in files.items():
            parts = max(1, -(-len(data) // _BLOB_PART))
            for n in range(parts):
                ids.append(f"{key}/{name}/{n}")
                metas.append({"key": key, "name": name, "part": n, "parts": parts, "data": base64.b64encode(data[n * _BLOB_PART : (n + 1) * _BLOB_PART]).decode("ascii")})
        with self._guard("store the keyword index"):
            collection = self._blob_collection()
            for start in range(0, len(ids), 8):
                collection.upsert(ids=ids[start : start + 8], metadatas=metas[start : start + 8], embeddings=[[1.0]] * len(ids[start : start + 8]))

    def get_blob(self, key: str) -> dict[str, bytes]:
        folder = self.blob_folder(key)
        if not self.url and folder.is_dir():
            return folder_files(folder)
        with self._guard("read the keyword index"):
            got = self._blob_collection().get(where={"key": key}, include=["documents", "metadatas"])
        pieces: dict[str, dict[int, bytes]] = {}
        expected: dict[str, int] = {}
        for doc, meta in zip(got["documents"], got["metadatas"], strict=True):
            # An index stored by an earlier version has the bytes in the document.
            pieces.setdefault(meta["name"], {})[int(meta["part"])] = base64.b64decode(meta.get("data") or doc or "")
            expected[meta["name"]] = int(meta["parts"])
        if not pieces or any(len(pieces[n]) != expected[n] for n in pieces):
            raise IndexUnavailable(f"The keyword index {key} is missing or incomplete in {self.where}; run `signpost ingest --rebuild`.")
        return {name: b"".join(parts[n] for n in sorted(parts)) for name, parts in pieces.items()}

    def drop_blobs(self, keep: Iterable[str]) -> None:
        """Delete every blob but these, in Chroma and on this machine."""
        keep = sorted(k for k in keep if k)
        with self._guard("delete an old keyword index"):
            collection = self._blob_collection()
            where = {"key": {"$nin": keep}} if keep else None
            ids = collection.get(where=where, include=[])["ids"]
            if ids:
                collection.delete(ids=ids)
        derived = self.home / "derived"
        if derived.is_dir():
            for folder in derived.iterdir():
                # Dot-folders are being written (write_folder's staging); files are caches.
                if folder.is_dir() and not folder.name.startswith(".") and folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)


def _metadata(record: StoredChunk) -> dict[str, Any]:
    """A chunk record's Chroma metadata: the one field readers filter on (`doc_key`), and
    everything else as one JSON string. Chroma writes a row, with index entries, per
    metadata key, and indexes a record's document for full-text search: with the text
    and a dozen fields stored apart, storing took 2 ms a chunk; as one field, 1 ms
    (measured on 5,000 synthetic chunks; half of Chroma's share of ingest)."""
    payload = {**record.chunk.metadata(), "chunk_id": record.chunk.chunk_id, "text": record.chunk.text, "sentences": record.sentences, "sentence_vectors": record.sentence_vectors}
    return {"doc_key": record.doc_key, "record": json.dumps(payload, ensure_ascii=False)}


def _to_record(record_id: str, meta: dict[str, Any]) -> StoredChunk:
    payload = json.loads(str(meta.get("record") or "{}"))
    return StoredChunk(
        chunk=_to_chunk(str(payload.get("chunk_id", record_id)), str(payload.get("text", "")), payload),
        doc_key=str(meta.get("doc_key", "")),
        sentences=str(payload.get("sentences", "")),
        sentence_vectors=str(payload.get("sentence_vectors", "")),
    )


def _to_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        doc_title=str(meta.get("doc_title", "")),
        section=str(meta.get("section", "")),
        subsection=str(meta.get("subsection", "")),
        anchor=str(meta.get("anchor", "")),
        jurisdiction=str(meta.get("jurisdiction", "")),
        position=int(meta.get("position", 0)),
        text=text,
        source=str(meta.get("source", "")),
    )
