"""Chroma storage for chunks, in generations, with a manifest that points at one.

Every ingest that changes something writes a *new* collection (copying the vectors
of unchanged documents, embedding only what changed), then switches the manifest to
it in one write, then drops the old one. A failure or a killed process before the
switch leaves the previous generation answering as before; stray generations are
cleaned up by the next ingest. The manifest lives in Chroma itself, so replicas that
share a Chroma server see the same index.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import IndexUnavailable
from ingest.model import Chunk

MANIFEST_COLLECTION = "signpost-manifest"
MANIFEST_ID = "current"
GENERATION_PREFIX = "signpost-chunks-"
MANIFEST_VERSION = 2  # bump when the stored layout changes: forces a rebuild
# Chroma's HNSW defaults gave poor recall at scale (DESIGN.md); set them at creation,
# since changing them later does not help.
DEFAULT_HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 128, "max_neighbors": 32}
_BATCH = 500
# Each chunk is stored as two vectors ("views"): its text alone, and its text under
# its section heading. A query scores a chunk by the better of the two: the heading
# helps when a question names the topic, the bare text when it paraphrases a detail
# (measured on the guidance's own questions; see README "Retrieval").
VIEWS = ("text", "heading")


@dataclass
class Manifest:
    collection: str
    embedding_model: str
    embedding_dim: int
    chunker_version: str
    created_at: str
    documents: dict[str, dict] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

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

    def __init__(self, home: Path, url: str | None = None, hnsw: dict | None = None, token: str | None = None, ca_file: Path | None = None):
        self.home = Path(home)
        self.url = url
        self._token, self._ca_file = token, ca_file
        self.hnsw = {**DEFAULT_HNSW, **(hnsw or {})}
        self._client = None

    @property
    def where(self) -> str:
        return _describe(self.url, self.home)

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
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
            yield
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"Could not {what} in {self.where} ({type(exc).__name__}).") from exc

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

    def _manifest_collection(self):
        return self.client.get_or_create_collection(MANIFEST_COLLECTION, embedding_function=None)

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
            self._manifest_collection().upsert(ids=[MANIFEST_ID], documents=[manifest.to_json()], embeddings=[[1.0]])

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
            try:
                self.client.delete_collection(name)
            except Exception:
                pass  # already gone: another ingest cleaned it up

    def _collection(self, name: str):
        try:
            return self.client.get_collection(name, embedding_function=None)
        except IndexUnavailable:
            raise
        except Exception:
            raise IndexUnavailable(f"The index collection {name} is missing from {self.where}; run `signpost ingest --rebuild`.") from None

    # --- chunks ------------------------------------------------------------------

    def add(self, name: str, chunks: list[Chunk], vectors: dict[str, np.ndarray]) -> None:
        """Store chunks with one vector per view (`vectors[view][i]` is chunk i's)."""
        collection = self._collection(name)
        with self._guard("store chunks"):
            for view in VIEWS:
                for start in range(0, len(chunks), _BATCH):
                    part = chunks[start : start + _BATCH]
                    collection.add(
                        ids=[_record_id(c.chunk_id, view) for c in part],
                        embeddings=vectors[view][start : start + _BATCH],
                        documents=[c.text for c in part],
                        metadatas=[{**c.metadata(), "chunk_id": c.chunk_id, "view": view} for c in part],
                    )

    def copy_documents(self, source: str, target: str, doc_ids: Iterable[str]) -> int:
        """Copy the stored chunks (vectors included) of some documents: no re-embedding.

        Returns the number of chunks copied."""
        doc_ids = list(doc_ids)
        if not doc_ids:
            return 0
        src, dst = self._collection(source), self._collection(target)
        copied = 0
        with self._guard("copy unchanged chunks"):
            for doc_id in doc_ids:
                got = src.get(where={"doc_id": doc_id}, include=["embeddings", "documents", "metadatas"])
                for start in range(0, len(got["ids"]), _BATCH):
                    end = start + _BATCH
                    dst.add(
                        ids=got["ids"][start:end],
                        embeddings=got["embeddings"][start:end],
                        documents=got["documents"][start:end],
                        metadatas=got["metadatas"][start:end],
                    )
                copied += len(got["ids"])
        return copied // len(VIEWS)

    def chunks(self, name: str) -> list[Chunk]:
        collection = self._collection(name)
        out: list[Chunk] = []
        with self._guard("read chunks"):
            total = collection.count()
            for offset in range(0, total, _BATCH):
                got = collection.get(where={"view": VIEWS[0]}, include=["documents", "metadatas"], limit=_BATCH, offset=offset)
                out.extend(_to_chunk(m["chunk_id"], d, m) for d, m in zip(got["documents"], got["metadatas"], strict=True))
        out.sort(key=lambda c: (c.doc_id, c.position))
        return out

    def count(self, name: str) -> int:
        """How many chunks (not vectors) the collection holds."""
        with self._guard("count chunks"):
            return self._collection(name).count() // len(VIEWS)

    def query(self, name: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k nearest chunk ids with cosine similarity (best view), best first."""
        collection = self._collection(name)
        with self._guard("search the index"):
            got = collection.query(query_embeddings=[vector], n_results=max(1, k * len(VIEWS)), include=["distances", "metadatas"])
        best: dict[str, float] = {}
        for meta, dist in zip(got["metadatas"][0], got["distances"][0], strict=True):
            cid = meta["chunk_id"]
            best[cid] = max(best.get(cid, -1.0), 1.0 - float(dist))
        return sorted(best.items(), key=lambda kv: -kv[1])[:k]


def _record_id(chunk_id: str, view: str) -> str:
    return chunk_id if view == VIEWS[0] else f"{chunk_id}~{view}"


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
