"""The RAGAS suite: ragas.evaluate over the pipeline's answers.

Offline, always: context precision/recall (string-based NonLLM and id-based),
string and semantic similarity to the reference answer (local MiniLM embeddings),
and CitationFaithfulness, our LLM-free faithfulness metric (eval/faithfulness.py). With a judge model
(SIGNPOST_JUDGE_BASE_URL): ragas' own Faithfulness, ResponseRelevancy,
LLMContextRecall and LLMContextPrecisionWithReference through its llama-index wrapper.
"""

from __future__ import annotations

import asyncio
import math
import typing as t
from dataclasses import dataclass, field

from eval.faithfulness import faithfulness_score

JUDGE_METRICS = ("faithfulness", "answer_relevancy", "context_recall", "llm_context_precision_with_reference")


def _ragas():
    # Imported here: ragas (and pandas, langchain) take seconds to import.
    import ragas
    from ragas.metrics.base import MetricOutputType, MetricType, SingleTurnMetric

    return ragas, MetricOutputType, MetricType, SingleTurnMetric


def citation_faithfulness_metric(verbatim: bool = True):
    """Build the CitationFaithfulness ragas metric (classic interface, no LLM).

    `retrieved_contexts` holds the cited passages in citation order, so [n] is
    contexts[n-1]. The check is eval/faithfulness.py, which shares no code with the
    production verifier: verbatim spans for extractive answers (verbatim=True);
    content words, numbers and negations for generated ones (verbatim=False).
    """
    _, MetricOutputType, MetricType, SingleTurnMetric = _ragas()

    @dataclass
    class CitationFaithfulness(SingleTurnMetric):
        name: str = "citation_faithfulness"
        _required_columns: dict = field(default_factory=lambda: {MetricType.SINGLE_TURN: {"response", "retrieved_contexts"}})
        output_type: MetricOutputType | None = MetricOutputType.CONTINUOUS
        verbatim: bool = True

        def init(self, run_config) -> None:
            pass

        def score_text(self, response: str, contexts: t.Sequence[str]) -> float:
            score = faithfulness_score(response or "", list(contexts), self.verbatim)
            return math.nan if score is None else score

        async def _single_turn_ascore(self, sample, callbacks) -> float:
            return self.score_text(sample.response or "", sample.retrieved_contexts or [])

        async def _ascore(self, row, callbacks) -> float:
            return self.score_text(row.get("response", ""), row.get("retrieved_contexts", []))

    return CitationFaithfulness(verbatim=verbatim)


def local_embeddings(embedder):
    """ragas embeddings over our already-loaded MiniLM (legacy interface: ResponseRelevancy needs it)."""
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    class LocalEmbeddings(BaseRagasEmbeddings):
        def __init__(self):
            super().__init__()
            # ragas reads `.model` as a string for its usage events.
            self.model = embedder.model_id
            self.run_config = RunConfig()

        def embed_documents(self, texts):
            return embedder.embed([x or " " for x in texts]).tolist()

        def embed_query(self, text):
            return self.embed_documents([text])[0]

        async def aembed_documents(self, texts):
            return await asyncio.to_thread(self.embed_documents, texts)

        async def aembed_query(self, text):
            return (await self.aembed_documents([text]))[0]

    return LocalEmbeddings()


def offline_metrics(embeddings) -> list:
    from ragas.metrics._answer_similarity import SemanticSimilarity
    from ragas.metrics._context_precision import IDBasedContextPrecision, NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import IDBasedContextRecall, NonLLMContextRecall
    from ragas.metrics._string import DistanceMeasure, NonLLMStringSimilarity

    return [
        NonLLMContextPrecisionWithReference(),
        NonLLMContextRecall(),
        IDBasedContextPrecision(),
        IDBasedContextRecall(),
        NonLLMStringSimilarity(distance_measure=DistanceMeasure.LEVENSHTEIN),
        SemanticSimilarity(embeddings=embeddings),
    ]


def judge_llm(base_url: str, model: str, api_key: str | None, timeout: float = 120.0):
    # A new client per evaluate(): evaluate() runs its own event loop, and async
    # clients reused across loops fail.
    from llama_index.llms.openai_like import OpenAILike
    from ragas.llms.base import LlamaIndexLLMWrapper

    return LlamaIndexLLMWrapper(OpenAILike(api_base=base_url, model=model, api_key=api_key or "not-needed", is_chat_model=True, timeout=timeout, max_retries=0, context_window=8192))


def judge_metrics(embeddings) -> list:
    from ragas.metrics._answer_relevance import ResponseRelevancy
    from ragas.metrics._context_precision import LLMContextPrecisionWithReference
    from ragas.metrics._context_recall import LLMContextRecall
    from ragas.metrics._faithfulness import Faithfulness

    return [Faithfulness(), ResponseRelevancy(embeddings=embeddings, strictness=1), LLMContextRecall(), LLMContextPrecisionWithReference()]


@dataclass
class RagasResult:
    scores: dict  # metric -> mean (None when skipped)
    per_item: list  # dicts: id + metric values
    skipped: list  # metric names not run, with the reason in `skip_reason`
    skip_reason: str = ""


def _evaluate(**kwargs):
    # ragas.evaluate calls asyncio.run(), which fails inside a running event loop
    # (a web server, Playwright's sync API); a worker thread has none.
    from concurrent.futures import ThreadPoolExecutor

    from ragas import evaluate

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(evaluate, **kwargs).result()


def run_ragas(rows: list[dict], embedder, judge: dict | None = None) -> RagasResult:
    """rows: id, user_input, response, retrieved_contexts, retrieved_context_ids,
    cited_contexts, reference, reference_contexts, reference_context_ids."""
    from ragas import EvaluationDataset, RunConfig, SingleTurnSample

    embeddings = local_embeddings(embedder)
    if not rows:
        return RagasResult({}, [], list(JUDGE_METRICS), "no answered items")
    samples = [
        SingleTurnSample(
            user_input=r["user_input"],
            response=r["response"],
            retrieved_contexts=r["retrieved_contexts"],
            retrieved_context_ids=r["retrieved_context_ids"],
            reference=r["reference"],
            reference_contexts=r["reference_contexts"],
            reference_context_ids=r["reference_context_ids"],
        )
        for r in rows
    ]
    config = RunConfig(max_workers=4, timeout=120, max_retries=1)
    run = dict(show_progress=False, run_config=config, allow_nest_asyncio=False)
    metrics = offline_metrics(embeddings)
    frame = _evaluate(dataset=EvaluationDataset(samples=samples), metrics=metrics, llm=None, raise_exceptions=True, **run).to_pandas()
    names = [m.name for m in metrics]

    # CitationFaithfulness reads [n] against the passages in citation order, so it gets
    # its own datasets: extractive answers must quote verbatim, generated ones are
    # checked word by word. A "not covered" reply makes no statement to check: it
    # counts against status accuracy, not faithfulness (NaN here).
    faith_name = citation_faithfulness_metric().name
    frame[faith_name] = math.nan
    for verbatim in (True, False):
        cited = [i for i, r in enumerate(rows) if r.get("answered", True) and r["cited_contexts"] and r.get("composer", "extractive").startswith("extractive") == verbatim]
        if not cited:
            continue
        faith_samples = [SingleTurnSample(user_input=rows[i]["user_input"], response=rows[i]["response"], retrieved_contexts=rows[i]["cited_contexts"]) for i in cited]
        metric = citation_faithfulness_metric(verbatim)
        scored = _evaluate(dataset=EvaluationDataset(samples=faith_samples), metrics=[metric], llm=None, raise_exceptions=True, **run).to_pandas()
        frame.loc[cited, faith_name] = scored[faith_name].to_numpy()
    names.append(faith_name)

    skipped, reason = list(JUDGE_METRICS), "no judge model configured (SIGNPOST_JUDGE_BASE_URL)"
    if judge:
        judged = _evaluate(dataset=EvaluationDataset(samples=samples), metrics=judge_metrics(embeddings), llm=judge_llm(**judge), raise_exceptions=False, **run).to_pandas()
        for name in JUDGE_METRICS:
            if name in judged:
                frame[name] = judged[name]
        names += [n for n in JUDGE_METRICS if n in judged]
        skipped, reason = [n for n in JUDGE_METRICS if n not in judged], "the judge returned no scores for this metric"
    scores = {n: _mean(frame[n]) for n in names}
    per_item = [{"id": r["id"], **{n: _clean(frame[n].iloc[i]) for n in names}} for i, r in enumerate(rows)]
    return RagasResult(scores, per_item, skipped, reason if skipped else "")


def _mean(series) -> float | None:
    values = [float(v) for v in series if v is not None and not math.isnan(float(v))]
    return sum(values) / len(values) if values else None


def _clean(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value
