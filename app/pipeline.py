"""The answer pipeline: small stages run in order, any of which may end the run.

QuestionGuard -> SafetyTriage -> Retrieve (and the coverage check) -> Compose ->
CitationVerifier -> finish. A question too long to answer still goes through triage
(then ends), so a danger notice is never lost to the length limit.
Expected outcomes (an empty question, a topic the guidance does not cover) are
statuses with fixed messages (app/messages.py), never exceptions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app import messages
from app.answer import Answer, Citation, Notice, Sentence, Status
from app.compose import ExtractiveComposer, LLMComposer
from app.conversation import retrieval_query, trim_history
from app.coverage import CoverageHead
from app.figures import FigureCheck
from app.guard import QuestionGuard
from app.signposts import Signposts
from app.triage import SafetyTriage, TriageResult, embed_sentences_vector
from app.verify import CitationVerifier
from index.retriever import HybridRetriever
from index.types import Passage, RetrievalResult
from ingest.errors import SignpostError

log = logging.getLogger("signpost.pipeline")


@dataclass
class AskContext:
    raw_question: str | None
    history: list = field(default_factory=list)
    question: str = ""
    retrieval_query: str = ""
    query_vector: np.ndarray | None = None
    question_vector: np.ndarray | None = None  # the question's own embedding, from triage
    sentences_vector: np.ndarray | None = None  # the mean of its sentences' embeddings, from triage
    triage: TriageResult | None = None
    retrieval: RetrievalResult | None = None
    support_threshold: float | None = None  # the composer's, when the coverage check sets it
    sentences: list[Sentence] = field(default_factory=list)
    composer: str = ""
    notices: list[Notice] = field(default_factory=list)
    reason: str = ""
    message: str = ""
    refused: bool = False  # too long to answer: triage still reads it, then the run ends
    dropped: int = 0  # sentences the verifier removed


class Stage:
    name = "stage"

    def run(self, ctx: AskContext) -> Status | None:  # pragma: no cover - interface
        raise NotImplementedError


class GuardStage(Stage):
    name = "guard"

    def __init__(self, guard: QuestionGuard, history_turns: int):
        self.guard, self.history_turns = guard, history_turns

    def run(self, ctx):
        checked = self.guard.check(ctx.raw_question)
        if checked.problem:
            ctx.reason = checked.problem
            ctx.message = messages.INVALID[checked.problem].format(limit=self.guard.max_chars)
            if not checked.text:
                return Status.INVALID_QUESTION
            ctx.refused = True  # too long to answer but read for danger: triage ends the run
        ctx.question = checked.text
        ctx.history = trim_history(ctx.history, self.history_turns, self.guard.max_chars)
        return None


class TriageStage(Stage):
    name = "triage"

    def __init__(self, triage: SafetyTriage, signposts: Signposts):
        self.triage, self.signposts = triage, signposts

    def run(self, ctx):
        result = ctx.triage = self.triage.assess(ctx.question)
        ctx.question_vector, ctx.sentences_vector = result.message_vector, result.sentences_vector
        # Emergency first, whatever else is shown; then a child at risk, then crisis support.
        if result.emergency:
            ctx.notices.append(Notice("emergency", messages.EMERGENCY_INTRO, self.signposts.emergency, source="triage"))
        if result.child_at_risk:
            ctx.notices.append(Notice("child_safety", messages.CHILD_INTRO, self.signposts.child_safety, source="triage"))
        if result.self_harm:
            ctx.notices.append(Notice("crisis", messages.CRISIS_INTRO, self.signposts.crisis, source="triage"))
        if ctx.refused:  # by GuardStage, with whatever notices triage called for
            return Status.INVALID_QUESTION
        if result.language:  # nothing here reads it: say so (the emergency notice is already first)
            ctx.reason, ctx.message = "language", messages.NOT_COVERED["language"]
            return Status.NOT_COVERED
        if result.other_jurisdiction:
            ctx.reason, ctx.message = "jurisdiction", messages.NOT_COVERED["jurisdiction"]
            return Status.NOT_COVERED
        if result.out_of_area:
            topic = " and ".join(result.out_of_area)
            if not result.in_scope:
                ctx.reason, ctx.message = "out_of_area", messages.NOT_COVERED["out_of_area"].format(topic=topic)
                return Status.NOT_COVERED
            ctx.notices.append(Notice("partial", messages.PARTIAL.format(topic=topic)))
        return None


class RetrieveStage(Stage):
    name = "retrieve"

    def __init__(self, retriever: Callable[[], HybridRetriever], coverage: CoverageHead | None = None):
        # A provider, not the retriever: the index is opened when a question needs it,
        # so triage (before this stage) works while the index or Chroma is down.
        self.retriever = retriever
        self.coverage = coverage

    def run(self, ctx):
        retriever = self.retriever()
        ctx.retrieval_query = retrieval_query(ctx.question, ctx.history)
        triage_read_it = ctx.question_vector is not None and ctx.retrieval_query == ctx.question
        if triage_read_it:
            ctx.query_vector = ctx.question_vector  # triage embedded this very text
        else:
            ctx.query_vector = retriever.embedder.embed_one(ctx.retrieval_query)
        ctx.retrieval = retriever.retrieve(ctx.retrieval_query, query_vector=ctx.query_vector, explain=False)
        if not ctx.retrieval.kept:
            ctx.reason, ctx.message = "no_support", messages.NOT_COVERED["no_support"]
            return Status.NOT_COVERED
        if self.coverage is not None and self.coverage.reads(ctx.question):
            sentences = ctx.sentences_vector
            if not triage_read_it:  # a follow-up: the check reads the text search embedded
                sentences = embed_sentences_vector(retriever.embedder, ctx.retrieval_query) if self.coverage.sentences else None
            if self.coverage.declines(ctx.query_vector, ctx.question, sentences):
                # the passages found are shown as "may be related", not as an answer
                ctx.reason, ctx.message = "off_topic", messages.NOT_COVERED["off_topic"]
                return Status.NOT_COVERED
            # A long question's sentences each relate only loosely to the guidance's, so
            # the composer asks less of them once the check has passed the question.
            ctx.support_threshold = self.coverage.support_threshold
        return None


class ComposeStage(Stage):
    name = "compose"

    def __init__(self, composer: ExtractiveComposer | LLMComposer):
        self.composer = composer

    def run(self, ctx):
        # What was searched: the question plus the guidance's words for a lay phrasing in it
        ctx.sentences, ctx.composer = self.composer.compose(ctx.retrieval.query or ctx.retrieval_query, ctx.retrieval.query_vector if ctx.retrieval.query_vector is not None else ctx.query_vector, ctx.retrieval.kept, ctx.support_threshold)
        if not ctx.sentences:
            ctx.reason, ctx.message = "no_support", messages.NOT_COVERED["no_support"]
            return Status.NOT_COVERED
        return None


class VerifyStage(Stage):
    name = "verify"

    def __init__(self, verifier: CitationVerifier):
        self.verifier = verifier

    def run(self, ctx):
        verdicts = self.verifier.check(ctx.sentences, ctx.retrieval.kept)
        ctx.sentences = [v.sentence for v in verdicts if v.supported]
        ctx.dropped = len(verdicts) - len(ctx.sentences)
        if not ctx.sentences:
            ctx.reason, ctx.message = "no_support", messages.NOT_COVERED["no_support"]
            return Status.NOT_COVERED
        return None


class FigureStage(Stage):
    """An answer to "how long", "how much", "how many" or "what sentence" must give a
    figure of that kind (app/figures.py); the guidance's general sentences about the
    same order or offence do not answer it."""

    name = "figures"

    def __init__(self, check: FigureCheck):
        self.check = check

    def run(self, ctx):
        missing = self.check.unanswered(ctx.question, [s.text for s in ctx.sentences])
        if not missing:
            return None
        topic = " or ".join(k.missing for k in missing)
        if len(ctx.question.split()) < self.check.whole_question_words:
            ctx.reason, ctx.message = "no_figure", messages.NOT_COVERED["no_figure"].format(topic=topic)
            return Status.NOT_COVERED
        ctx.notices.append(Notice("partial", messages.PARTIAL.format(topic=topic)))
        return None


class Pipeline:
    """Runs the stages for one question and builds the Answer."""

    def __init__(self, stages: list[Stage], signposts: Signposts, retriever: Callable[[], HybridRetriever] | None = None):
        self.stages = stages
        self.signposts = signposts
        self._retriever = retriever

    @property
    def triage(self) -> SafetyTriage:
        """The safety triage this pipeline runs (for the eval and the benchmark)."""
        return next(s.triage for s in self.stages if isinstance(s, TriageStage))

    def warm(self) -> None:
        """Load the model and open the index, so the first question is fast.

        Nothing per chunk happens here: sentence splits and vectors come with the
        search results (stored at ingest), so start-up does not grow with the corpus.
        Raises IndexUnavailable if the index cannot be opened (triage still works)."""
        self.triage.assess("warming up the models")  # three words or more: loads the language check too
        if self._retriever is not None:
            self._retriever().manifest  # noqa: B018  (opens the index and its keyword files)

    def ask(self, question: str | None, history: list | None = None) -> Answer:
        ctx = AskContext(raw_question=question, history=list(history or []))
        timings: dict[str, float] = {}
        started = time.perf_counter()
        status = Status.ANSWERED
        try:
            for stage in self.stages:
                t0 = time.perf_counter()
                outcome = stage.run(ctx)
                timings[f"{stage.name}_ms"] = (time.perf_counter() - t0) * 1000
                if outcome is not None:
                    status = outcome
                    break
        except SignpostError as err:
            # Never the question: only what failed.
            log.error("pipeline fault: %s", err)
            status, ctx.reason, ctx.message = Status.ERROR, "unavailable", messages.UNAVAILABLE
        except Exception as exc:
            log.error("pipeline fault: %s", type(exc).__name__)
            status, ctx.reason, ctx.message = Status.ERROR, "internal", messages.ERROR
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        answer = self._finish(status, ctx, timings)
        log.info("answered status=%s reason=%s total_ms=%.1f", answer.status.value, answer.reason, timings["total_ms"])
        return answer

    def _signpost_text(self) -> str:
        """The solicitor line, then the line that introduces the helplines listed after it
        (the list's intro last, so it reads "...: <helplines>")."""
        solicitor = self.signposts.solicitor.strip()
        return f"{solicitor} {messages.SIGNPOST_INTRO_AFTER_SOLICITOR}" if solicitor else messages.SIGNPOST_INTRO

    def _finish(self, status: Status, ctx: AskContext, timings: dict) -> Answer:
        notices = list(ctx.notices)
        if status is not Status.ANSWERED:
            related = ctx.retrieval.kept[:2] if ctx.retrieval and status is Status.NOT_COVERED else []
            if status is Status.NOT_COVERED:
                notices.append(Notice("signpost", self._signpost_text(), self.signposts.helplines))
            retrieved = ctx.retrieval.kept if ctx.retrieval else []
            return Answer.fixed(status, ctx.message, ctx.reason, notices, related=related, composer=ctx.composer, timings_ms=timings, retrieved=retrieved)
        text, citations = _render(ctx.sentences, ctx.retrieval.kept)
        reason = "partial" if any(n.kind == "partial" for n in notices) else ""
        return Answer(status, text, citations, notices, messages.DISCLAIMER, reason, [], ctx.composer, timings, ctx.retrieval.kept)


def _render(sentences: list[Sentence], passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Number passages by first use so [1] is the first source the reader meets."""
    numbers: dict[int, int] = {}
    parts = []
    for s in sentences:
        for i in s.sources:
            numbers.setdefault(i, len(numbers) + 1)
        marks = "".join(f"[{numbers[i]}]" for i in dict.fromkeys(s.sources))
        parts.append(f"{s.text} {marks}")
    citations = [Citation(n, passages[i]) for i, n in sorted(numbers.items(), key=lambda kv: kv[1])]
    return " ".join(parts), citations


def build_pipeline(services, retriever: Callable[[], HybridRetriever] | None = None) -> Pipeline:
    """The production pipeline for a Services bundle (see app/services.py).

    Builds without opening the index (`retriever` provides it when a question needs
    it); fails with a ConfigError if the safety triage model is missing or mismatched.
    """
    from app.compose import SentenceBank
    from app.verify import CitationVerifier

    s = services.settings
    retriever = retriever or (lambda: services.retriever)
    triage = SafetyTriage.load(services.embedder, s.triage_model_file)
    signposts = Signposts.load(s.signposts_file)
    bank = SentenceBank(services.embedder)
    extractive = ExtractiveComposer(bank, s.support_threshold, s.max_answer_words)
    composer = LLMComposer(s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout_seconds, extractive) if s.llm_enabled else extractive
    return Pipeline(
        [
            GuardStage(QuestionGuard(s.max_question_chars), s.history_turns),
            TriageStage(triage, signposts),
            RetrieveStage(retriever, services.coverage_head),
            ComposeStage(composer),
            VerifyStage(CitationVerifier(bank)),
            FigureStage(FigureCheck()),
        ],
        signposts,
        retriever=retriever,
    )
