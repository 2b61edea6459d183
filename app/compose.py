"""Composers turn kept passages into answer sentences, each citing its passage(s).

ExtractiveComposer (default) picks the guidance's own sentences: grounded by
construction, deterministic and fast. LLMComposer asks an OpenAI-compatible server;
its output goes through the same CitationVerifier, and any failure falls back to
the extractive answer.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np

from app.answer import Sentence
from app.text import content_terms, coverage, split_sentences
from index.embedder import Embedder
from index.types import Passage

log = logging.getLogger("signpost.compose")

# Sentences that point at pages this service does not have ("visit our dedicated
# page", "You can also find official guidance in ... – GOV.UK") answer nothing on their
# own, and never lead or join an answer.
_NAVIGATION = re.compile(
    r"\b(visit|see our|read more|learn more about|follow the links|our (dedicated|detailed) page|our page on|our guide|our overview|for a (detailed|full) explanation|find (the )?official guidance|gov\.uk)\b",
    re.IGNORECASE,
)
_NEAR_DUPLICATE = 0.88


@dataclass(frozen=True)
class ComposerWeights:
    semantic: float = 0.75  # cosine(question, sentence)
    lexical: float = 0.25  # share of question terms found in the sentence or its heading
    rank_decay: float = 0.03  # small preference for higher-ranked passages
    max_passages: int = 4
    max_sentences: int = 4
    relative_margin: float = 0.2  # later sentences must score within this of the lead
    # A question at least this long leads with a sentence of the passage search ranked
    # first: a long story's vector relates only loosely to any one sentence, and search
    # (with the section prior) places it better than the sentence scores do. 0 = off.
    lead_from_first_words: int = 20


class SentenceBank:
    """Sentence splits and vectors of passages.

    Passages from the index carry both, computed at ingest; anything else (a passage
    built by hand, an index without them) is split and embedded here, and kept."""

    def __init__(self, embedder: Embedder, max_cached: int = 4096):
        self.embedder = embedder
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}
        self._max_cached = max_cached
        self._lock = threading.Lock()

    def get(self, passages: list[Passage], stored: bool = True) -> list[tuple[list[str], np.ndarray]]:
        """(sentences, vectors) per passage; `stored=False` embeds each sentence on its own."""
        use_stored = [stored and p.sentence_vectors is not None for p in passages]
        missing = [p for p, ok in zip(passages, use_stored, strict=True) if not ok and p.chunk_id not in self._cache]
        if missing:
            splits = [split_sentences(p.text) for p in missing]
            flat = [s for group in splits for s in group]
            vectors = self.embedder.embed(flat)
            with self._lock:
                if len(self._cache) + len(missing) > self._max_cached:
                    self._cache.clear()
                start = 0
                for p, group in zip(missing, splits, strict=True):
                    self._cache[p.chunk_id] = (group, vectors[start : start + len(group)])
                    start += len(group)
        return [(list(p.sentences), p.sentence_vectors) if ok else self._cache[p.chunk_id] for p, ok in zip(passages, use_stored, strict=True)]


class ExtractiveComposer:
    """Every composer's `compose(...)` returns (sentences, name of what composed them)."""

    name = "extractive"

    def __init__(self, bank: SentenceBank, support_threshold: float, max_words: int, weights: ComposerWeights | None = None):
        self.bank = bank
        self.support_threshold = support_threshold
        self.max_words = max_words
        self.weights = weights or ComposerWeights()

    def compose(self, question: str, query_vector: np.ndarray, passages: list[Passage], support_threshold: float | None = None) -> tuple[list[Sentence], str]:
        return self.select(question, query_vector, passages, support_threshold), self.name

    def select(self, question: str, query_vector: np.ndarray, passages: list[Passage], support_threshold: float | None = None) -> list[Sentence]:
        """Guidance sentences that answer the question, as prose a person can follow.

        `support_threshold` (unset: the composer's own) is the least score a sentence
        needs; the pipeline lowers it for a long question the coverage check has read.

        - The lead is the sentence that scores best against the question; for a long
          question, the best of the passage search ranked first (when it has support).
        - A sentence that opens with a pronoun or demonstrative ("They may...", "These
          can include...") brings the sentence before it in its passage (and that one's,
          if it too points back), or is not used when nothing before it can be shown.
        - Sentences keep the guidance's order inside each passage.
        - When every chosen sentence comes from one passage that fits the word limit,
          the whole passage is quoted rather than cut into pieces.
        """
        w = self.weights
        support = self.support_threshold if support_threshold is None else support_threshold
        passages = passages[: w.max_passages]
        terms = content_terms(question)
        banked = self.bank.get(passages)
        candidates = []  # (score, passage index, sentence index, text, vector)
        for pi, (p, (sentences, vectors)) in enumerate(zip(passages, banked, strict=True)):
            heading_terms = content_terms(p.heading)
            for si, (text, vec) in enumerate(zip(sentences, vectors, strict=True)):
                if _NAVIGATION.search(text):
                    continue
                semantic = float(vec @ query_vector)
                lexical = coverage(terms, content_terms(text) | heading_terms)
                score = w.semantic * semantic + w.lexical * lexical - w.rank_decay * pi
                candidates.append((score, pi, si, text, vec))
        candidates.sort(key=lambda c: -c[0])
        if w.lead_from_first_words and len(question.split()) >= w.lead_from_first_words:
            # the first passage's best sentence that can stand first, if it has the support
            for n, (score, pi, si, _text, _vec) in enumerate(candidates):
                if score < support:
                    break
                if pi == 0 and _with_antecedents(banked[0][0], si) is not None:
                    candidates.insert(0, candidates.pop(n))
                    break

        chosen: set[tuple[int, int]] = set()  # (passage, sentence)
        units: list[list[tuple[int, int]]] = []  # each choice with the sentences it brought
        kept_vectors: list[np.ndarray] = []
        lead_score, words = None, 0
        for score, pi, si, _text, vec in candidates:
            floor = max(support, lead_score - w.relative_margin) if lead_score is not None else support
            if score < floor or len(chosen) >= w.max_sentences:
                break
            if (pi, si) in chosen or any(float(vec @ v) > _NEAR_DUPLICATE for v in kept_vectors):
                continue
            unit = _with_antecedents(banked[pi][0], si)
            if unit is None:
                continue  # points back at something this passage does not show
            unit = [(pi, k) for k in unit if (pi, k) not in chosen]
            n_words = sum(len(banked[pi][0][k].split()) for _, k in unit)
            if (chosen and words + n_words > self.max_words) or len(chosen) + len(unit) > w.max_sentences + 1:
                continue
            chosen.update(unit)
            units.append(unit)
            kept_vectors.append(vec)
            words += n_words
            lead_score = score if lead_score is None else lead_score
        if not units:
            return []

        lead_passage = units[0][0][0]
        whole = [k for k, text in enumerate(banked[lead_passage][0]) if not _NAVIGATION.search(text)]
        if {pi for pi, _ in chosen} == {lead_passage} and sum(len(banked[lead_passage][0][k].split()) for k in whole) <= self.max_words:
            order = [(lead_passage, k) for k in whole]
        else:
            # The lead (with what it brought) first; then the rest of its passage, then
            # the other passages by rank, each in the guidance's own order.
            lead = sorted(units[0])
            rest = sorted((key for key in chosen if key not in lead), key=lambda key: (key[0] != lead_passage, key))
            order = lead + rest
        return [Sentence(text=banked[pi][0][si], sources=(pi,)) for pi, si in order]


# A sentence whose first word points back at something said before it.
# A pronoun or demonstrative subject, first or after a short opening phrase
# ("In some cases, they may ..."), points back to an earlier sentence.
_POINTS_BACK = re.compile(r"^\W*(?:(?:in|at|for|on|after|if|when|once|sometimes|often)\b[^,.]{0,40},\s*)?(they|these|those|this|that|such|he|she|him|her|his|them|their|its|there|it)\b(?! is (important|essential|crucial|worth|possible|a criminal|an offence|illegal))", re.IGNORECASE)
_MAX_BROUGHT = 2


def points_back(sentence: str) -> bool:
    return bool(_POINTS_BACK.match(sentence))


def _with_antecedents(sentences: list[str], index: int) -> list[int] | None:
    """The sentence indices to show for sentences[index]: it, and the sentences before
    it that it points back to; None when the chain reaches the passage's start."""
    out = [index]
    while points_back(sentences[out[0]]):
        if out[0] == 0 or len(out) > _MAX_BROUGHT:
            return None
        out.insert(0, out[0] - 1)
    return out


PROMPT_FILE = Path(__file__).parent / "prompts" / "compose.txt"
_CITED = re.compile(r"\[(\d+)\]")
_CITE_GROUP = re.compile(r"((?:\s*\[\d+\])+)")


def render_prompt(template_path: Path, **values: str) -> str:
    """Render a prompt file strictly: a missing variable is an error, not a blank."""
    return Template(template_path.read_text(encoding="utf-8")).substitute(**values)


def parse_cited_sentences(reply: str, n_passages: int) -> list[Sentence]:
    """Split a model reply into sentences with their [n] citations (1-based in the text).

    Citation marks belong to the sentence they follow; a sentence with none gets no
    sources. A number outside 1..n_passages becomes -1 so the verifier rejects it.
    """
    out: list[Sentence] = []
    # "sentence [1]." -> "sentence. [1]" so the mark stays with its sentence.
    reply = re.sub(r"((?:\s*\[\d+\])+)\s*([.!?])", r"\2\1", " ".join(reply.split()))
    parts = _CITE_GROUP.split(reply)
    # re.split with one group alternates: text, marks, text, marks, ..., text
    for i in range(0, len(parts), 2):
        marks = parts[i + 1] if i + 1 < len(parts) else ""
        sentences = split_sentences(parts[i])
        for j, raw in enumerate(sentences):
            numbers = [int(n) for n in _CITED.findall(marks)] if j == len(sentences) - 1 else []
            text = re.sub(r"\s+([.,;:!?])", r"\1", raw).strip()
            if text:
                out.append(Sentence(text=text, sources=tuple(n - 1 if 1 <= n <= n_passages else -1 for n in numbers)))
    return out


class LLMComposer:
    """Compose with any OpenAI-compatible chat server via llama-index's OpenAILike."""

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float, fallback: ExtractiveComposer):
        self.fallback = fallback
        # Imported here: only needed when a model server is configured.
        from llama_index.llms.openai_like import OpenAILike

        self.llm = OpenAILike(
            model=model,
            api_base=base_url,
            api_key=api_key or "not-needed",
            is_chat_model=True,
            timeout=timeout,
            max_retries=0,
            temperature=0.0,
            context_window=8192,
            max_tokens=400,
        )

    def compose(self, question: str, query_vector: np.ndarray, passages: list[Passage], support_threshold: float | None = None) -> tuple[list[Sentence], str]:
        from llama_index.core.llms import ChatMessage

        shown = passages[: self.fallback.weights.max_passages]
        numbered = "\n\n".join(f"[{i}] {p.heading}\n{p.text}" for i, p in enumerate(shown, 1))
        prompt = render_prompt(PROMPT_FILE, passages=numbered, question=question)
        try:
            reply = self.llm.chat([ChatMessage(role="user", content=prompt)])
            text = reply.message.content or ""
        except Exception as exc:  # timeouts, refused connections, HTTP errors: fall back
            log.warning("LLM composer failed (%s); using the extractive answer", type(exc).__name__)
            return self._fall_back(question, query_vector, passages, support_threshold)
        sentences = parse_cited_sentences(text, len(shown))
        if not sentences:
            return self._fall_back(question, query_vector, passages, support_threshold)
        return sentences, self.name

    def _fall_back(self, question: str, query_vector: np.ndarray, passages: list[Passage], support_threshold: float | None) -> tuple[list[Sentence], str]:
        return self.fallback.select(question, query_vector, passages, support_threshold), "extractive (llm fallback)"
