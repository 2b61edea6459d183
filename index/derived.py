"""What the answer path needs besides chunk vectors, computed once at ingest.

- Sentence splits and sentence vectors, per chunk, stored in the chunk's metadata:
  the composer and the verifier read them from the search results, so no process
  ever splits or embeds the corpus again at start-up.
- The BM25 keyword index (bm25s), saved as files, stored with the index as a blob
  (`ChunkStore.put_blob`: in Chroma when it is a server, so every replica gets the same
  one) and memory-mapped from a local folder.
- Keyword counts per chunk (`KeywordCounts`), cached on the ingesting machine as
  arrays, so that changing one document tokenizes one document, and the BM25 scores
  of the whole corpus are recomputed in a few array operations, not re-tokenized.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
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

# bm25s's defaults (method "lucene"), which the BM25 scores below reproduce exactly.
_K1, _B = 1.5, 0.75
_EMPTY_CORPUS = "signpost-empty-corpus"


def keyword_tokens(texts: list[str]) -> list[list[str]]:
    """bm25s's English tokenizer with the Snowball stemmer (as llama-index's BM25)."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False, show_progress=False)


@dataclass
class KeywordCounts:
    """How often each keyword occurs in each chunk, for some documents, in row order.

    Everything a BM25 index is computed from, held as arrays: changing one document
    swaps that document's rows, and the others are neither re-tokenized nor re-read."""

    doc_keys: list[str]  # one per document, in row order
    doc_chunks: np.ndarray  # chunks per document
    record_ids: list[str]  # one per chunk
    vocab: list[str]  # term id -> term
    lengths: np.ndarray  # tokens per chunk
    indptr: np.ndarray  # chunk i's postings are [indptr[i], indptr[i + 1])
    terms: np.ndarray  # term id per posting
    counts: np.ndarray  # occurrences per posting

    @classmethod
    def of_document(cls, doc_key: str, record_ids: list[str], tokens: list[list[str]]) -> KeywordCounts:
        """One document version, from its chunks' tokens (`keyword_tokens`)."""
        from collections import Counter

        vocab: dict[str, int] = {}
        terms: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for chunk_tokens in tokens:
            tally = Counter(chunk_tokens)
            terms.extend(vocab.setdefault(t, len(vocab)) for t in tally)
            counts.extend(tally.values())
            indptr.append(len(terms))
        return cls(
            doc_keys=[doc_key],
            doc_chunks=np.array([len(record_ids)], dtype=np.int64),
            record_ids=list(record_ids),
            vocab=list(vocab),
            lengths=np.array([len(t) for t in tokens], dtype=np.int64),
            indptr=np.array(indptr, dtype=np.int64),
            terms=np.array(terms, dtype=np.int32),
            counts=np.array(counts, dtype=np.int32),
        )

    @classmethod
    def join(cls, parts: list[tuple[KeywordCounts, str]]) -> KeywordCounts:
        """The documents named, in this order, each taken from the counts given with it;
        terms no document uses any more are dropped."""
        vocab: dict[str, int] = {}
        remap: dict[int, np.ndarray] = {}
        rows: dict[int, dict[str, tuple[int, int]]] = {}
        for source, _ in parts:
            if id(source) not in remap:
                remap[id(source)] = np.array([vocab.setdefault(t, len(vocab)) for t in source.vocab], dtype=np.int32)
                rows[id(source)] = source._rows()
        doc_keys, doc_chunks, record_ids, lengths, indptrs, terms, counts = [], [], [], [], [], [], []
        offset = 0
        for source, key in parts:
            first, last = rows[id(source)][key]
            lo, hi = source.indptr[first], source.indptr[last]
            doc_keys.append(key)
            doc_chunks.append(last - first)
            record_ids.extend(source.record_ids[first:last])
            lengths.append(source.lengths[first:last])
            indptrs.append(source.indptr[first + 1 : last + 1] - lo + offset)
            terms.append(remap[id(source)][source.terms[lo:hi]])
            counts.append(source.counts[lo:hi])
            offset += hi - lo
        joined = cls(
            doc_keys=doc_keys,
            doc_chunks=np.array(doc_chunks, dtype=np.int64),
            record_ids=record_ids,
            vocab=list(vocab),
            lengths=_concat(lengths, np.int64),
            indptr=np.concatenate([np.zeros(1, dtype=np.int64), *indptrs]),
            terms=_concat(terms, np.int32),
            counts=_concat(counts, np.int32),
        )
        return joined._without_unused_terms()

    def _rows(self) -> dict[str, tuple[int, int]]:
        ends = np.cumsum(self.doc_chunks)
        return {k: (int(e - n), int(e)) for k, n, e in zip(self.doc_keys, self.doc_chunks, ends, strict=True)}

    def _without_unused_terms(self) -> KeywordCounts:
        used = np.bincount(self.terms, minlength=len(self.vocab)) > 0
        if used.all():
            return self
        new_id = np.cumsum(used, dtype=np.int64) - 1
        return replace(self, vocab=[t for t, keep in zip(self.vocab, used, strict=True) if keep], terms=new_id[self.terms].astype(np.int32))

    # One file, replaced whole: a cache on the ingesting machine, never half-written.
    def save(self, path: Path) -> None:
        header = json.dumps({"doc_keys": self.doc_keys, "record_ids": self.record_ids, "vocab": self.vocab}).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, header=np.frombuffer(header, dtype=np.uint8), doc_chunks=self.doc_chunks, lengths=self.lengths, indptr=self.indptr, terms=self.terms, counts=self.counts)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> KeywordCounts | None:
        """The saved counts, or None when there are none or they cannot be read (a cache:
        the caller counts the documents again)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(data["header"].tobytes().decode("utf-8"))
                return cls(
                    doc_keys=list(header["doc_keys"]),
                    doc_chunks=data["doc_chunks"],
                    record_ids=list(header["record_ids"]),
                    vocab=list(header["vocab"]),
                    lengths=data["lengths"],
                    indptr=data["indptr"],
                    terms=data["terms"],
                    counts=data["counts"],
                )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


def bm25_scores(counts: KeywordCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bm25s's score matrix (data, indices, indptr: chunks x terms, compressed by term)
    computed from counts in a few array operations. The arithmetic is bm25s's own, in
    the same order and precision, so every score is bit-for-bit what `bm25s.BM25().index`
    gives on the same tokens (tests/index/test_derived.py)."""
    import math

    n = len(counts.lengths)
    avg_len = counts.lengths.mean()
    df = np.bincount(counts.terms, minlength=len(counts.vocab))
    # idf with math.log, as bm25s does per term (numpy's log may differ in the last bit),
    # once per distinct document frequency.
    distinct, which = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (n - int(d) + 0.5) / (int(d) + 0.5)) for d in distinct], dtype=np.float32)[which]
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(counts.indptr))
    tf = counts.counts.astype(np.float32).astype(np.float64)
    tfc = tf / (_K1 * ((1 - _B) + _B * counts.lengths[rows].astype(np.float64) / avg_len) + tf)
    scores = (idf[counts.terms].astype(np.float64) * tfc).astype(np.float32)
    by_term = np.argsort(counts.terms, kind="stable")  # rows stay ascending within a term
    indptr = np.zeros(len(counts.vocab) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return scores[by_term], rows[by_term], indptr


class KeywordIndex:
    """A saved bm25s index over record ids; searched by query text."""

    IDS_FILE = "record_ids.json"

    def __init__(self, model, record_ids: list[str]):
        self._model = model
        self.record_ids = record_ids

    @classmethod
    def from_counts(cls, counts: KeywordCounts) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25()
        if not counts.record_ids:
            # bm25s cannot index nothing; an empty corpus gets a placeholder no id points to.
            model.index([[_EMPTY_CORPUS]], show_progress=False)
            return cls(model, [])
        data, indices, indptr = bm25_scores(counts)
        model.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": len(counts.record_ids)}
        model.vocab_dict = {t: i for i, t in enumerate(counts.vocab)}
        model.vocab_dict[""] = len(counts.vocab)  # as bm25s's index() adds
        model.unique_token_ids_set = set(model.vocab_dict.values())
        model.nonoccurrence_array = None  # only BM25L and BM25+ have one
        return cls(model, list(counts.record_ids))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)
        (folder / self.IDS_FILE).write_text(json.dumps(self.record_ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=True)
        return cls(model, json.loads((folder / cls.IDS_FILE).read_text(encoding="utf-8")))

    def scores(self, query: str) -> np.ndarray | None:
        """Raw BM25 score of every record for the query (None: no query term is indexed)."""
        vocab = self._model.vocab_dict
        terms = [t for t in keyword_tokens([query])[0] if t in vocab]
        if not terms or not self.record_ids:
            return None
        return np.asarray(self._model.get_scores(terms))

    def search(self, query: str, n: int) -> dict[str, float]:
        """The n best record ids with their raw BM25 scores (positive only)."""
        scores = self.scores(query)
        if scores is None:
            return {}
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
