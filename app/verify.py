"""CitationVerifier: every sentence must rest on a passage the user is shown.

A sentence survives only if every citation number points at a shown passage and at
least one cited passage supports it. Support means:
  - lexical: enough of the sentence's content words appear in the passage, and
  - semantic: the sentence is close to some sentence of the passage, and
  - facts: every number (phone numbers, years, sections), Act name and URL in the
    sentence appears in that passage;
  - polarity and force: the sentence is negated exactly when the passage sentence it is
    closest to is ("you should not call 999" does not rest on "call 999", nor the other
    way round), and it claims no stronger modal force than that sentence ("the court
    will" does not rest on "the court may").
Unsupported sentences are dropped; the pipeline turns "nothing left" into not_covered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from app.answer import Sentence
from app.compose import SentenceBank
from app.text import acts_in, content_terms, coverage, has_url, normalise_quotes, numbers_in
from index.types import Passage

_MARKUP = re.compile(r"<[^>]*>|!?\[([^\]]*)\]\([^)]*\)|[*_`#>]{1,3}")
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")
NEGATIONS = frozenset({"not", "no", "never", "cannot", "can't", "don't", "doesn't", "didn't", "won't", "isn't", "aren't", "wasn't", "shouldn't", "mustn't", "nor", "without", "none", "nothing", "nobody"})
# Words that claim certainty or obligation; a sentence may use one only if the passage does.
STRONG_MODALS = frozenset({"must", "will", "always", "never", "definitely", "certainly", "guaranteed", "guarantee", "shall", "need", "needs", "required", "have to", "has to"})


def _words(text: str) -> set[str]:
    words = _WORDS.findall(normalise_quotes(text).lower())
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


@dataclass(frozen=True)
class VerifierThresholds:
    lexical: float = 0.6
    semantic: float = 0.6


@dataclass(frozen=True)
class Verdict:
    sentence: Sentence
    supported: bool
    reason: str = ""


def strip_markup(text: str) -> str:
    return " ".join(_MARKUP.sub(lambda m: m.group(1) or "", text).split())


class CitationVerifier:
    def __init__(self, bank: SentenceBank, thresholds: VerifierThresholds | None = None):
        self.bank = bank
        self.t = thresholds or VerifierThresholds()

    def check(self, sentences: list[Sentence], passages: list[Passage]) -> list[Verdict]:
        banks = self.bank.get(passages) if passages else []
        texts = [strip_markup(s.text) for s in sentences]
        verdicts = []
        written: list[int] = []  # sentences a model wrote (not verbatim guidance)
        for n, (s, text) in enumerate(zip(sentences, texts, strict=True)):
            valid = [i for i in s.sources if 0 <= i < len(banks)]
            vector = next((banks[i][1][j] for i in valid for j, t in enumerate(banks[i][0]) if t == text), None)
            if vector is None:
                written.append(n)
                verdicts.append(None)
            else:  # verbatim: its stored vector, compared with its passage's stored vectors
                verdicts.append(self._check_one(Sentence(text, s.sources), vector, passages, banks))
        if written:
            # A model's sentence is embedded on its own, so it is compared with the
            # passages' sentences embedded on their own too (the stored vectors are
            # read in context, one pass per chunk, and sit on another scale).
            standalone = self.bank.get(passages, stored=False)
            for n, vector in zip(written, self.bank.embedder.embed([texts[n] for n in written]), strict=True):
                verdicts[n] = self._check_one(Sentence(texts[n], sentences[n].sources), vector, passages, standalone)
        return verdicts

    def _check_one(self, sentence: Sentence, vector: np.ndarray, passages: list[Passage], banks) -> Verdict:
        if not sentence.text:
            return Verdict(sentence, False, "empty")
        if not sentence.sources:
            return Verdict(sentence, False, "no_citation")
        if any(i < 0 or i >= len(passages) for i in sentence.sources):
            return Verdict(sentence, False, "citation_not_shown")
        terms = content_terms(sentence.text)
        reasons = []
        for i in sentence.sources:
            passage = normalise_quotes(passages[i].text)
            missing_numbers = numbers_in(sentence.text) - numbers_in(passage)
            missing_acts = {a for a in acts_in(sentence.text) if a not in passage.lower()}
            if missing_numbers or missing_acts or (has_url(sentence.text) and not has_url(passage)):
                reasons.append("fact_not_in_passage")
                continue
            lexical = coverage(terms, content_terms(passage))
            similarities = banks[i][1] @ vector if len(banks[i][1]) else np.zeros(0)
            semantic = float(np.max(similarities)) if len(similarities) else 0.0
            if lexical < self.t.lexical or semantic < self.t.semantic:
                reasons.append("not_supported")
                continue
            said, source = _words(sentence.text), _words(banks[i][0][int(np.argmax(similarities))])
            if bool(said & NEGATIONS) != bool(source & NEGATIONS):
                reasons.append("negation_mismatch")
                continue
            if (said & STRONG_MODALS) - source:
                reasons.append("stronger_than_passage")
                continue
            return Verdict(sentence, True)
        return Verdict(sentence, False, reasons[0] if reasons else "not_supported")
