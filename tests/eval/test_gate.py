"""The quality gate: the offline RAGAS suite over the whole golden set must pass,
and deliberately broken pipelines must fail it."""

import math
import random

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
    failures = check_gate(healthy["by_split"], load_thresholds(), load_baseline())
    assert failures == []
    assert healthy["skipped"] == {m: "no judge model configured (SIGNPOST_JUDGE_BASE_URL)" for m in JUDGE_METRICS}


def test_baselines_run_in_the_same_process(healthy):
    names = set(healthy["retrieval"]["held_out"])
    assert names == {"hybrid", "hybrid_no_prior", "dense_only", "bm25_only", "llamaindex_default"}
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

    broken_retriever = RandomRetriever(services.retriever)
    stages = [RetrieveStage(lambda: broken_retriever) if isinstance(s, RetrieveStage) else s for s in pipeline.stages]
    broken = Pipeline(stages, pipeline.signposts)
    result = evaluate_pipeline(services, golden, pipeline=broken, side_sets=False)
    failures = check_gate(result["by_split"], load_thresholds(), load_baseline())
    assert any(f.startswith("id_based_context_recall") for f in failures)
    assert any(f.startswith("semantic_similarity") or f.startswith("status_accuracy") for f in failures)


class InventingComposer:
    """A broken composer: the real answer plus a sentence no passage supports."""

    name = "inventing"

    def __init__(self, real):
        self.real = real

    def compose(self, question, query_vector, passages, support_threshold=None):
        sentences, _ = self.real.compose(question, query_vector, passages, support_threshold)
        invented = Sentence("You will always win in court and receive compensation within 14 days.", (0,))
        return (sentences + [invented] if sentences else sentences), self.name


def test_gate_fails_when_verifier_is_off_and_composer_invents(services, pipeline, golden):
    stages = []
    for s in pipeline.stages:
        if isinstance(s, VerifyStage):
            continue  # verifier disabled
        stages.append(ComposeStage(InventingComposer(s.composer)) if isinstance(s, ComposeStage) else s)
    broken = Pipeline(stages, pipeline.signposts)
    result = evaluate_pipeline(services, golden, pipeline=broken, side_sets=False)
    failures = check_gate(result["by_split"], load_thresholds(), load_baseline())
    assert any(f.startswith("citation_faithfulness") for f in failures)


def test_citation_faithfulness_is_verbatim_for_extractive_answers():
    metric = citation_faithfulness_metric(verbatim=True)
    contexts = ["Call 999 if you are in immediate danger.", "The police can apply for a Stalking Protection Order on your behalf."]
    assert metric.score_text("Call 999 if you are in immediate danger. [1] The police can apply for a Stalking Protection Order on your behalf. [2]", contexts) == 1.0
    # the production verifier's word overlap would pass a shortened or reworded sentence; this does not
    assert metric.score_text("Call 999 if you are in immediate danger. [1] The police can apply for an order. [2]", contexts) == 0.5
    assert metric.score_text("Call 999 if you are in immediate danger. [2]", contexts) == 0.0  # wrong citation
    assert metric.score_text("Call 112 if you are in immediate danger. [1] Uncited claim here.", contexts) == 0.0


def test_citation_faithfulness_checks_words_numbers_and_negation_for_generated_answers():
    metric = citation_faithfulness_metric(verbatim=False)
    contexts = ["If you are in immediate danger, call 999 and ask for the police.", "You can apply for a non-molestation order without notifying the other party."]
    assert metric.score_text("Call 999 and ask for the police if you are in danger. [1]", contexts) == 1.0
    assert metric.score_text("You should not call 999 if you are in danger. [1]", contexts) == 0.0  # added negation
    assert metric.score_text("Call 101 if you are in danger. [1]", contexts) == 0.0  # changed number
    assert metric.score_text("You can apply for an order without telling a judge. [2]", contexts) == 0.0  # word not in passage
    assert math.isnan(metric.score_text("", contexts))


@pytest.fixture
def thresholds():
    return {"margin": 0.05, "floors": {"all": {"status_accuracy": {"min": 0.5}, "false_alarms": {"max": 0.2}}}}


BASE = {"all": {"status_accuracy": 0.84, "false_alarms": 0.05}, "held_out": {"status_accuracy": 0.80, "false_alarms": 0.05}}


def test_gate_fails_a_drop_larger_than_the_margin_in_any_split(thresholds):
    run = {"all": {"status_accuracy": 0.83, "false_alarms": 0.05}, "held_out": {"status_accuracy": 0.70, "false_alarms": 0.05}}
    assert check_gate(run, thresholds, BASE) == ["status_accuracy (held_out): 0.700 dropped more than 0.05 from the baseline 0.800"]


def test_gate_passes_a_rise_and_a_drop_within_the_margin(thresholds):
    run = {"all": {"status_accuracy": 0.99, "false_alarms": 0.0}, "held_out": {"status_accuracy": 0.76, "false_alarms": 0.09}}
    assert check_gate(run, thresholds, BASE) == []


def test_gate_fails_a_rise_in_a_lower_is_better_metric(thresholds):
    run = {"all": {"status_accuracy": 0.84, "false_alarms": 0.15}}
    assert check_gate(run, thresholds, BASE) == ["false_alarms (all): 0.150 dropped more than 0.05 from the baseline 0.050"]


def test_gate_reports_a_metric_or_split_missing_from_the_baseline(thresholds):
    run = {"all": {"status_accuracy": 0.84, "false_alarms": 0.05}, "tuning": {"status_accuracy": 0.9}}
    failures = check_gate(run, thresholds, {"all": {"status_accuracy": 0.84}})
    assert failures == [
        "false_alarms (all): not in the baseline; rerun `signpost eval --write-baseline` and review the diff",
        "status_accuracy (tuning): not in the baseline; rerun `signpost eval --write-baseline` and review the diff",
    ]


def test_gate_floors_hold_whatever_the_baseline(thresholds):
    run = {"all": {"status_accuracy": 0.4, "false_alarms": 0.3}}
    failures = check_gate(run, thresholds, {"all": {"status_accuracy": 0.42, "false_alarms": 0.29}})
    assert failures == ["status_accuracy (all): 0.400 is below the threshold 0.5", "false_alarms (all): 0.300 is above the threshold 0.2"]
    assert check_gate({"all": {"status_accuracy": 0.9}}, thresholds, BASE) == ["false_alarms (all): not computed"]


def test_committed_baseline_covers_every_gated_metric_in_every_split():
    baseline, thresholds = load_baseline(), load_thresholds()
    assert set(baseline) >= {"all", "tuning", "held_out"}
    for split, rules in thresholds["floors"].items():
        assert set(rules) <= set(baseline[split]), split


def test_llm_metrics_run_through_ragas_with_a_standin_judge(services, pipeline, golden):
    """STAND-IN judge server (scripted replies): the ragas LLM metrics run end to end."""
    items = [i for i in golden if i.expected_status == "answered"][:4]
    with StandInModelServer(answer_prompt) as judge:
        result = evaluate_pipeline(services, items, judge={"base_url": judge.url, "model": "standin-judge", "api_key": None}, side_sets=False)
        assert judge.prompts, "the judge was never asked"
    assert result["skipped"] == {}
    for name in ("faithfulness", "context_recall", "llm_context_precision_with_reference", "answer_relevancy"):
        assert result["metrics"][name] is not None and 0.0 <= result["metrics"][name] <= 1.0
    assert result["metrics"]["faithfulness"] > 0.5


def test_held_out_figures_come_with_intervals_around_them(healthy):
    triage = healthy["triage"]
    assert set(triage["intervals"]) == {"immediate_danger_notice_recall", "threat_notice_recall", "child_at_risk_notice_recall", "self_harm_notice_recall", "hard_negative_emergency_rate"}
    for name, (low, high) in triage["intervals"].items():  # every held-out danger message gets the 999 notice: 1.0 to 1.0
        assert low <= triage["metrics"][name] <= high and (high > low or triage["metrics"][name] in (0.0, 1.0))
    real, spans = healthy["by_split"]["real_held_out"], healthy["real_question_intervals"]
    for name in ("section_hit@1_hybrid", "section_hit@1_dense", "lead_section_accuracy", "answered_right_section_rate", "off_topic_declined_rate"):
        low, high = spans[name]
        assert low < real[name] < high
    low, high = spans["section_hit@1_hybrid_minus_dense"]
    assert low <= real["section_hit@1_hybrid"] - real["section_hit@1_dense"] <= high
