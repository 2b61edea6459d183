"""The embedder: one pass per chunk for chunk and sentence vectors; concurrent questions
share encoder passes."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.derived import sentence_spans
from index.embedder import MicroBatcher

PARAGRAPH = "Stalking is a pattern of fixated behaviour. It can include following someone. Keep a diary of every incident."


def test_chunk_vector_from_the_span_pass_is_the_models_own_and_every_sentence_gets_one(embedder):
    spans = sentence_spans(PARAGRAPH)
    vectors, sentence_vectors = embedder.embed_with_spans([PARAGRAPH], [spans])
    assert np.allclose(vectors[0], embedder.embed([PARAGRAPH])[0], atol=1e-5)
    assert sentence_vectors[0].shape == (3, vectors.shape[1])
    assert np.allclose(np.linalg.norm(sentence_vectors[0], axis=1), 1.0, atol=1e-4)
    # Each sentence's vector is nearest to that sentence embedded on its own.
    alone = embedder.embed([PARAGRAPH[a:b] for a, b in spans])
    assert list(np.argmax(sentence_vectors[0] @ alone.T, axis=1)) == [0, 1, 2]


def test_concurrent_questions_share_encoder_passes_and_get_their_own_vectors(embedder):
    texts = [f"question number {i}: is it harassment if he texts me every day?" for i in range(16)]
    alone = np.vstack([embedder.embed([t], progress=True) for t in texts])  # direct, no batcher
    before = embedder.batcher.batches
    start = threading.Barrier(16)

    def ask(text):
        start.wait()
        return embedder.embed([text])[0]

    with ThreadPoolExecutor(16) as pool:
        together = np.vstack(list(pool.map(ask, texts)))
    assert np.allclose(together, alone, atol=1e-5)
    assert embedder.batcher.batches - before < len(texts)


def test_a_failed_batch_fails_every_caller_in_it_and_the_next_call_works():
    calls = []

    def encode(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            raise RuntimeError("model crashed")
        return np.ones((len(texts), 2), dtype=np.float32)

    batcher = MicroBatcher(encode)
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.submit(["a"])
    assert batcher.submit(["b", "c"]).shape == (2, 2)
