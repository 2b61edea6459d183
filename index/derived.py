"""What the answer path needs besides chunk vectors, computed once at ingest.

- Sentence splits and sentence vectors, per chunk, stored in the chunk's metadata:
  the composer and the verifier read them from the search results, so no process
  ever splits or embeds the corpus again at start-up.
- The BM25 keyword index (bm25s), saved as files, stored in Chroma as a blob so every
  replica gets the same one, and memory-mapped from a local cache.
- Per-document keyword tokens, cached on the ingesting machine by content, so that
  changing one document re-tokenizes one document, not the corpus.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunker import split_sentences

# float16 halves the stored size; cosine scores move by under 1e-3.
_STORED_DTYPE = np.float16


# --- sentences ---------------------------------------------------------------


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of `split_sentences(text)` inside `text`."""
    spans, cursor = [], 0
    for sentence in split_sentences(text):
        start = text.index(sentence, cursor)
        spans.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    return spans


def pack_spans(spans: list[tuple[int, int]]) -> str:
    return ",".join(f"{a}-{b}" for a, b in spans)


def unpack_sentences(text: str, packed: str) -> list[str]:
    if not packed:
        return []
    return [text[int(a) : int(b)] for a, b in (part.split("-") for part in packed.split(","))]


def pack_vectors(vectors: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(vectors, dtype=_STORED_DTYPE).tobytes()).decode("ascii")


def unpack_vectors(packed: str, dim: int) -> np.ndarray:
    flat = np.frombuffer(base64.b64decode(packed), dtype=_STORED_DTYPE).astype(np.float32)
    return flat.reshape(-1, dim)


# --- keywords ----------------------------------------------------------------


def keyword_tokens(texts: list[str]) -> list[list[str]]:
    """bm25s's English tokenizer with the Snowball stemmer (as llama-index's BM25)."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False)


class KeywordIndex:
    """A saved bm25s index over record ids; searched by query text."""

    IDS_FILE = "record_ids.json"

    def __init__(self, model, record_ids: list[str]):
        self._model = model
        self.record_ids = record_ids

    @classmethod
    def build(cls, record_ids: list[str], tokens: list[list[str]]) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25()
        # bm25s cannot index nothing; an empty corpus gets a placeholder no id points to.
        model.index(tokens or [["signpost-empty-corpus"]], show_progress=False)
        return cls(model, record_ids)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder))
        (folder / self.IDS_FILE).write_text(json.dumps(self.record_ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=True)
        return cls(model, json.loads((folder / cls.IDS_FILE).read_text(encoding="utf-8")))

    def search(self, query: str, n: int) -> dict[str, float]:
        """The n best record ids with their raw BM25 scores (positive only)."""
        vocab = self._model.vocab_dict
        terms = [t for t in keyword_tokens([query])[0] if t in vocab]
        if not terms or not self.record_ids:
            return {}
        scores = np.asarray(self._model.get_scores(terms))
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {self.record_ids[i]: float(scores[i]) for i in top if scores[i] > 0}


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def write_folder(target: Path, files: dict[str, bytes]) -> None:
    """Write files into `target` all at once: a reader sees all of them or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if not target.exists():  # else another process wrote the same key first
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class TokenCache:
    """Record ids and keyword tokens per document version (`doc_key`), on local disk.

    A cache only: a missing or unreadable entry is recomputed from the chunk texts."""

    folder: Path

    def _path(self, doc_key: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in doc_key)
        return self.folder / f"{safe}.json"

    def get(self, doc_key: str) -> tuple[list[str], list[list[str]]] | None:
        """(record ids, tokens per record) of one document version, or None."""
        try:
            data = json.loads(self._path(doc_key).read_text(encoding="utf-8"))
            return list(data["ids"]), list(data["tokens"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def put(self, doc_key: str, ids: list[str], tokens: list[list[str]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(doc_key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"ids": ids, "tokens": tokens}), encoding="utf-8")
        os.replace(tmp, path)

    def keep_only(self, doc_keys: set[str]) -> None:
        wanted = {self._path(k).name for k in doc_keys}
        if self.folder.is_dir():
            for p in self.folder.glob("*.json"):
                if p.name not in wanted:
                    p.unlink(missing_ok=True)
