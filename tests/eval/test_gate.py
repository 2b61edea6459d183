"""The quality gate: the offline RAGAS suite over the whole golden set must pass,
and deliberately broken pipelines must fail it."""

import random
from dataclasses import replace

import pytest

from app.answer import Sentence
from app.pipeline import ComposeStage, Pipeline, VerifyStage
from eval.gate import check_gate, load_baseline, load_thresholds
from eval.golden import load_golden
from eval.ragas_suite import JUDGE_METRICS, citation_faithfulness_metric
from eval.run import evaluate_pipeline
from index.types import RetrievalResult
from tests.judge_script import answer_prompt
from tests.standins import StandInModelServer


@pytest.fixture(scope="module")
def golden():
    return load_golden()


@pytest.fixture(scope="module")
def healthy(services, pipeline, golden):
    return evaluate_pipeline(services, golden)


def test_offline_suite_passes_the_gate(healthy):
    failures = check_gate(healthy["metrics"], load_thresholds(), load_baseline())
    assert failures == []
    assert healthy["skipped"] == {m: "no judge model configured (SIGNPOST_JUDGE_BASE_URL)" for m in JUDGE_METRICS}


def test_baselines_run_in_the_same_process(healthy):
    names = set(healthy["retrieval"]["held_out"])
    assert names == {"hybrid", "dense_only", "bm25_only", "llamaindex_default"}
    held = healthy["retrieval"]["held_out"]
    assert held["bm25_only"]["mrr"] < held["hybrid"]["mrr"]


class RandomRetriever:
    """A broken retriever: random passages, whatever the question."""

    def __init__(self, real):
        self.real, self.embedder, self.rng = real, real.embedder, random.Random(7)

    def retrieve(self, query, k=None, query_vector=None):
        result = self.real.retrieve(query, query_vector=query_vector)
        pool = result.kept + result.rejected
        return RetrievalResult(kept=self.rng.sample(pool, 5), rejected=[])


def test_gate_fails_when_retrieval_returns_random_passages(services, pipeline, golden):
    from app.pipeline import RetrieveStage

    stages = [RetrieveStage(RandomRetriever(services.retriever)) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    broken = Pipeline(stages, pipeline.signposts)
    result = evaluate_pipeline(services, golden, pipeline=broken)
    failures = check_gate(result["metrics"], load_thresholds(), load_baseline())
    assert any(f.startswith("id_based_context_recall") for f in failures)
    assert any(f.startswith("semantic_similarity") or f.startswith("status_accuracy") for f in failures)


class InventingComposer:
    """A broken composer: the real answer plus a sentence no passage supports."""

    name = "inventing"

    def __init__(self, real):
        self.real = real

    def compose(self, question, query_vector, passages):
        sentences, _ = self.real.compose(question, query_vector, passages)
        invented = Sentence("You will always win in court and receive compensation within 14 days.", (0,))
        return (sentences + [invented] if sentences else sentences), self.name


def test_gate_fails_when_verifier_is_off_and_composer_invents(services, pipeline, golden):
    stages = []
    for s in pipeline.stages:
        if isinstance(s, VerifyStage):
            continue  # verifier disabled
        stages.append(ComposeStage(InventingComposer(s.composer)) if isinstance(s, ComposeStage) else s)
    broken = Pipeline(stages, pipeline.signposts)
    result = evaluate_pipeline(services, golden, pipeline=broken)
    failures = check_gate(result["metrics"], load_thresholds(), load_baseline())
    assert any(f.startswith("citation_faithfulness") for f in failures)


def test_citation_faithfulness_metric_counts_supported_statements():
    metric = citation_faithfulness_metric()
    contexts = ["Call 999 if you are in immediate danger.", "The police can apply for a Stalking Protection Order."]
    assert metric.score_text("Call 999 if you are in immediate danger. [1] The police can apply for a Stalking Protection Order. [2]", contexts) == 1.0
    assert metric.score_text("Call 999 if you are in immediate danger. [2] The police can apply for an order. [2]", contexts) == 0.5
    assert metric.score_text("Call 112 if you are in immediate danger. [1] Uncited claim here.", contexts) == 0.0


def test_llm_metrics_run_through_ragas_with_a_standin_judge(services, pipeline, golden):
    """STAND-IN judge server (scripted replies): the ragas LLM metrics run end to end."""
    items = [i for i in golden if i.expected_status == "answered"][:4]
    with StandInModelServer(answer_prompt) as judge:
        result = evaluate_pipeline(services, items, judge={"base_url": judge.url, "model": "standin-judge", "api_key": None})
        assert judge.prompts, "the judge was never asked"
    assert result["skipped"] == {}
    for name in ("faithfulness", "context_recall", "llm_context_precision_with_reference", "answer_relevancy"):
        assert result["metrics"][name] is not None and 0.0 <= result["metrics"][name] <= 1.0
    assert result["metrics"]["faithfulness"] > 0.5
