"""SafetyTriage: danger, threats, a child at risk, thoughts of suicide; and questions outside the guidance.

The safety labels come from a learned head (one logistic regression per label) over
the MiniLM sentence vector the pipeline computes anyway, next to word tf-idf features:
no second model at answer time. The whole message and each of its segments are scored,
because the danger in a long story is often one sentence: a head takes the maximum, or
a blend of the whole message's score and its best segment's (`aggregate`), whichever
cross-validated better for that head. The emergency head's score is then multiplied by
a second reader's (`TriageHead.border`), a logistic regression over the whole message
alone trained on the border between messages that need the 999 notice and messages with
no label: it tells a past story from danger now. Thresholds were chosen for recall by
cross-validation on the training split (eval/triage_train.py).
A few rules in triage.yaml add labels where they are precise (a weapon in someone's
hands now, a plea to call 999). Scope (other areas of law, other jurisdictions) is
plain patterns in scope.yaml: it decides what the guidance can answer, not safety.

Triage needs the embedding model but neither the index nor Chroma: it runs before
retrieval, so the notices come even when search is down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from app.language import LanguageCheck
from app.text import normalise_quotes
from ingest.errors import ConfigError
from ingest.jsonl import read_model_file

LABELS = ("immediate_danger", "threat", "child_at_risk", "self_harm")
# Both of these call for the same notice (999 first). One more head learns that union
# directly: where the line between danger now and a threat is blurred, it still knows
# both from an ordinary message.
EMERGENCY_LABELS = frozenset({"immediate_danger", "threat"})
HEADS = (*LABELS, "emergency")


def has_head(labels, head: str) -> bool:
    """Whether a message with these labels is a positive for `head`."""
    return bool(set(labels) & EMERGENCY_LABELS) if head == "emergency" else head in labels
HEAD_FILE = Path(__file__).parent / "models" / "triage_head.json"
RULES_FILE = Path(__file__).with_name("triage.yaml")
SCOPE_FILE = Path(__file__).with_name("scope.yaml")

# Segments: sentences, and windows over long unpunctuated runs (frightened people
# often type one long line). Bounded, so a message costs at most MAX_SEGMENTS extra
# vectors in one batch: enough for every part of a question at the length limit
# (3,000 characters, about 30 to 60 segments). Beyond it, the first and last halves are
# kept: a long story's danger is often in how it ends ("...and he's outside now").
MAX_SEGMENTS = 64
# Training (eval/triage_train.py) uses each message's first TRAINED_SEGMENTS parts, as it
# did when the bound at answer time was the same (until 2026-11-30). Only 4 training
# messages have more; retrained with all their parts, the head's cross-validated noise
# rose (hard negatives 0.487 to 0.506) from that alone, so training keeps the first 16
# and the committed head is unchanged. Answer time reads every part.
TRAINED_SEGMENTS = 16
_WINDOW, _STRIDE = 20, 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
_LAW_QUESTION_MAX_WORDS = 25

# Frightened people type fast: "hes outside", "im scared". Restore the apostrophe
# so the rules read both.
_CONTRACTIONS = {
    "hes": "he's", "shes": "she's", "im": "i'm", "ive": "i've", "theyre": "they're",
    "youre": "you're", "someones": "someone's", "somebodys": "somebody's", "dont": "don't",
    "cant": "can't", "wont": "won't", "didnt": "didn't", "isnt": "isn't", "thats": "that's",
    "whos": "who's", "hed": "he'd", "u": "you",
}
_BARE_WORD = re.compile(r"\b(" + "|".join(_CONTRACTIONS) + r")\b", re.IGNORECASE)


def normalise_message(text: str) -> str:
    """Straight quotes and restored apostrophes, for pattern matching only."""
    return _BARE_WORD.sub(lambda m: _CONTRACTIONS[m.group(1).lower()], normalise_quotes(text))


def segments(text: str) -> list[str]:
    """The parts of a message scored on their own (never the whole message itself)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        words = part.split()
        if len(words) <= _WINDOW + _STRIDE:
            out.append(part)
        else:
            out.extend(" ".join(words[i : i + _WINDOW]) for i in range(0, len(words) - _STRIDE, _STRIDE))
    if len(out) == 1 and out[0] == text.strip():
        return []
    if len(out) > MAX_SEGMENTS:
        out = out[: MAX_SEGMENTS // 2] + out[-(MAX_SEGMENTS // 2) :]
    return out


def sentences_vector(vectors: np.ndarray) -> np.ndarray | None:
    """The unit-length mean of a message's segment vectors: a view of all of a long
    message, where its own vector reads only MiniLM's first 256 word pieces (the
    coverage check reads both). None for a message with no segments."""
    if len(vectors) == 0:
        return None
    mean = vectors.astype(np.float32).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def embed_sentences_vector(embedder, text: str) -> np.ndarray | None:
    """sentences_vector for a text triage has not read (a follow-up's search text, training)."""
    parts = segments(text)
    return sentences_vector(embedder.embed(parts)) if parts else None


_TOKEN = re.compile(r"\w+")


class LexicalFeatures:
    """Word unigrams and bigrams, tf-idf weighted (sublinear tf, L2 norm), next to the
    MiniLM vector: MiniLM blurs short pleas and quoted threats ("send the police",
    "sleep with one eye open") that plain words still tell apart. Training and answer
    time share this code, so the features are the same."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray):
        self.vocabulary, self.idf = vocabulary, idf.astype(np.float32)

    @staticmethod
    def terms(text: str) -> list[str]:
        words = _TOKEN.findall(normalise_quotes(text).lower().replace("'", ""))
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]

    @classmethod
    def fit(cls, texts: list[str], min_df: int = 2) -> LexicalFeatures:
        df: dict[str, int] = {}
        for text in texts:
            for term in set(cls.terms(text)):
                df[term] = df.get(term, 0) + 1
        kept = sorted(t for t, n in df.items() if n >= min_df)
        n = len(texts)
        idf = np.array([np.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float32)
        return cls({t: i for i, t in enumerate(kept)}, idf)

    def transform(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.vocabulary)), dtype=np.float32)
        for row, text in enumerate(texts):
            counts: dict[int, int] = {}
            for term in self.terms(text):
                col = self.vocabulary.get(term)
                if col is not None:
                    counts[col] = counts.get(col, 0) + 1
            for col, c in counts.items():
                out[row, col] = (1.0 + np.log(c)) * self.idf[col]
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


def aggregate(scores: np.ndarray, whole_weight: float | None) -> float:
    """A message's score for one head from its parts' scores (the whole message first,
    then its segments): the maximum, or `whole_weight` x the whole message's score plus
    the rest x its best segment's. A blend lets the story around a frightening
    sentence ("six years ago", "my friend's ex") count, where the maximum hears the
    sentence alone."""
    if whole_weight is None or len(scores) < 2:
        return float(scores.max())
    return float(whole_weight * scores[0] + (1.0 - whole_weight) * scores[1:].max())


@dataclass(frozen=True)
class TriageHead:
    """Per-label logistic regression weights over [MiniLM vector, word tf-idf] and recall-first thresholds."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (labels, dim + vocabulary)
    bias: np.ndarray  # (labels,)
    thresholds: np.ndarray  # (labels,)
    whole_weights: tuple[float | None, ...]  # per label: None for the maximum, else the blend (aggregate)
    embedding_model: str
    lexical: LexicalFeatures
    # Per label, or None: a second reader of the whole message alone, trained on the
    # border (messages that need the 999 notice against those with no label); the
    # label's score is its head's score times this one's (eval/triage_train.py, BORDER_HEADS).
    border: tuple[tuple[np.ndarray, float] | None, ...] = field(default=(), compare=False)
    info: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path, embedding_model: str) -> TriageHead:
        data = read_model_file(path, "safety triage model", "triage-model")
        try:
            labels = tuple(data["labels"])
            head = cls(
                labels=labels,
                weights=np.asarray([data["heads"][lab]["weights"] for lab in labels], dtype=np.float32),
                bias=np.asarray([data["heads"][lab]["bias"] for lab in labels], dtype=np.float32),
                thresholds=np.asarray([data["heads"][lab]["threshold"] for lab in labels], dtype=np.float32),
                whole_weights=tuple(_whole_weight(data["heads"][lab].get("whole_weight")) for lab in labels),
                embedding_model=str(data["embedding_model"]),
                lexical=LexicalFeatures({t: i for i, t in enumerate(data["lexical"]["terms"])}, np.asarray(data["lexical"]["idf"], dtype=np.float32)),
                border=tuple(_border(data["heads"][lab].get("border")) for lab in labels),
                info={k: v for k, v in data.items() if k not in ("heads", "lexical")},
            )
            if any(b is not None and b[0].shape != head.weights.shape[1:] for b in head.border):
                raise ValueError("a border reader's weights do not match the head's features")
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"The safety triage model {path} is not in the expected format. Rebuild it with `make triage-model`.") from None
        if labels != HEADS:
            raise ConfigError(f"The safety triage model {path} has heads {list(labels)}, expected {list(HEADS)}. Rebuild it with `make triage-model`.")
        if head.embedding_model != embedding_model:
            raise ConfigError(
                f"The safety triage model {path} was trained on {head.embedding_model}, but the embedding model is {embedding_model}. "
                "Rebuild it with `make triage-model`."
            )
        return head

    def message_scores(self, probs: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
        """(labels,) scores of one message from its parts' (n, labels) probabilities,
        times its border readers' (labels,) `factors` (whole_scores) when given."""
        scores = np.array([aggregate(probs[:, k], w) for k, w in enumerate(self.whole_weights)])
        return scores if factors is None else scores * factors

    def _features(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        features = np.hstack([vectors, self.lexical.transform(texts)])
        if features.shape[1] != self.weights.shape[1]:
            raise ConfigError(f"The safety triage model expects {self.weights.shape[1]} features, got {features.shape[1]}. Rebuild it with `make triage-model`.")
        return features

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """(n, labels) probabilities for unit-length vectors and the texts they embed."""
        return self._probabilities(self._features(vectors, texts))

    def whole_scores(self, vectors: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`probabilities` of whole messages and their border readers' (n, labels)
        factors (1 where a label has none), from one set of features (segments need only
        `probabilities`)."""
        features = self._features(vectors, texts)
        return self._probabilities(features), self._border_factors(features)

    def _probabilities(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(features @ self.weights.T + self.bias)

    def _border_factors(self, features: np.ndarray) -> np.ndarray:
        factors = np.ones((len(features), len(self.labels)), dtype=np.float32)
        for k, b in enumerate(self.border):
            if b is not None:
                factors[:, k] = _sigmoid(features @ b[0] + b[1])
        return factors


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _border(value) -> tuple[np.ndarray, float] | None:
    if value is None:
        return None
    return np.asarray(value["weights"], dtype=np.float32), float(value["bias"])


def _whole_weight(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(value)
    return value


def _compile(patterns) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in ([patterns] if isinstance(patterns, str) else patterns or [])]


class SafetyRules:
    """The few patterns that add a label where they are precise (triage.yaml)."""

    def __init__(self, path: Path = RULES_FILE):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        self._add = {label: _compile(data.get(label)) for label in LABELS}
        self._about_the_law_patterns = _compile(data.get("about_the_law"))
        self._happening_now = _compile(data.get("happening_now"))
        self._aimed_at_the_writer = _compile(data.get("aimed_at_the_writer"))
        self._plain_question = _compile(data.get("plain_question"))
        self._danger_words = _compile(data.get("danger_words"))
        self._addressed_to_you = _compile(data.get("addressed_to_you"))
        self._asked_question_max_words = int(data.get("asked_question_max_words") or 0)

    @staticmethod
    def _short_question(norm: str, asks: list[re.Pattern], never: list[re.Pattern]) -> bool:
        """One short (normalised) message of one part, matching one of `asks` and none of `never`."""
        return len(norm.split()) <= _LAW_QUESTION_MAX_WORDS and not segments(norm) and any(p.search(norm) for p in asks) and not any(p.search(norm) for p in never)

    def _about_the_law(self, norm: str) -> bool:
        """Asks about the law, and says no one means harm to the writer or their family:
        the one test behind both the veto and the rules' silence (labels)."""
        return any(p.search(norm) for p in self._about_the_law_patterns) and not any(p.search(norm) for p in self._aimed_at_the_writer)

    def is_question_about_the_law(self, text: str) -> bool:
        """A short single question about the law, with nothing said to be happening now
        and no one said to mean harm to the writer."""
        norm = normalise_message(text)
        return self._short_question(norm, self._about_the_law_patterns, self._happening_now) and self._about_the_law(norm)

    def is_plain_question(self, text: str) -> bool:
        """One short question asking for information, with no word of danger or of now."""
        return self._short_question(normalise_message(text), self._plain_question, self._happening_now + self._danger_words)

    def is_asked_question(self, text: str) -> bool:
        """A short message that ends by asking something, with no word of danger or of
        now, not addressed to "you" (a quoted threat often is)."""
        norm = normalise_message(text).strip()
        never = self._happening_now + self._danger_words + self._addressed_to_you
        return norm.endswith("?") and len(norm.split()) <= self._asked_question_max_words and not any(p.search(norm) for p in never)

    def vetoes(self, text: str) -> bool:
        """Whether the learned labels are set aside: a question about the law, a plain
        question, or a short message asking for information."""
        return self.is_question_about_the_law(text) or self.is_plain_question(text) or self.is_asked_question(text)

    def labels(self, text: str) -> set[str]:
        norm = normalise_message(text)
        if self._about_the_law(norm):  # a question about the law of threats is not one
            return set()
        return {label for label, patterns in self._add.items() if any(p.search(norm) for p in patterns)}


class ScopeRules:
    """Other areas of law and other jurisdictions (scope.yaml)."""

    def __init__(self, path: Path = SCOPE_FILE):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._out_of_area = {topic: re.compile(p, re.IGNORECASE) for topic, p in data["out_of_area"].items()}
        self._in_scope = re.compile(data["in_scope"], re.IGNORECASE)
        self._jurisdiction = re.compile(data["jurisdiction"], re.IGNORECASE)

    def assess(self, text: str) -> tuple[list[str], bool, bool]:
        norm = normalise_message(text)
        topics = [topic for topic, p in self._out_of_area.items() if p.search(norm)]
        return topics, bool(self._in_scope.search(norm)), bool(self._jurisdiction.search(norm))


@dataclass(frozen=True)
class TriageResult:
    labels: frozenset = frozenset()
    emergency: bool = False  # the 999 notice: the emergency head, or a danger/threat label
    scores: dict = field(default_factory=dict)  # head -> the message's score (TriageHead.message_scores)
    out_of_area: list[str] = field(default_factory=list)  # topics the guidance does not cover
    in_scope: bool = True
    other_jurisdiction: bool = False
    language: str = ""  # another language's code when the message is clearly not English (app/language.py)
    message_vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # reused by retrieval
    sentences_vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # its segments' mean, for the coverage check

    @property
    def child_at_risk(self) -> bool:
        return "child_at_risk" in self.labels

    @property
    def self_harm(self) -> bool:
        return "self_harm" in self.labels


class SafetyTriage:
    def __init__(self, embedder, head: TriageHead, rules: SafetyRules | None = None, scope: ScopeRules | None = None, language: LanguageCheck | None = None):
        self.embedder, self.head = embedder, head
        self.rules = rules or SafetyRules()
        self.scope = scope or ScopeRules()
        self.language = language or LanguageCheck()

    @classmethod
    def load(cls, embedder, head_file: Path = HEAD_FILE) -> SafetyTriage:
        """Fails with a ConfigError (never falls back to rules alone) if the head is missing or mismatched."""
        return cls(embedder, TriageHead.load(head_file, embedder.model_id))

    def assess(self, text: str) -> TriageResult:
        return self.assess_many([text])[0]

    def assess_many(self, texts: list[str]) -> list[TriageResult]:
        """Each message scored from it and its segments (TriageHead.message_scores).

        The messages and the segments go through the encoder as two batches: a batch is
        padded to its longest text, and one long message among its own short sentences
        made triage of a 3,000-character question take 1.4 s instead of 0.2 s."""
        parts = [segments(text) for text in texts]
        whole = self.embedder.embed(list(texts))
        flat = [s for group in parts for s in group]
        whole_probs, factors = self.head.whole_scores(whole, list(texts))
        seg_vectors = self.embedder.embed(flat)
        seg_probs = self.head.probabilities(seg_vectors, flat)
        out, start = [], 0
        for n, (text, group) in enumerate(zip(texts, parts, strict=True)):
            end = start + len(group)
            probs = np.vstack([whole_probs[n : n + 1], seg_probs[start:end]])
            out.append(self._result(text, self.head.message_scores(probs, factors[n]), whole[n], sentences_vector(seg_vectors[start:end])))
            start = end
        return out

    def _result(self, text: str, probs: np.ndarray, vector: np.ndarray, sentences: np.ndarray | None = None) -> TriageResult:
        fired = {head for head, p, t in zip(self.head.labels, probs, self.head.thresholds, strict=True) if p >= t}
        if self.rules.vetoes(text):
            fired = set()
        labels = frozenset((fired - {"emergency"}) | self.rules.labels(text))
        topics, in_scope, other = self.scope.assess(text)
        language = self.language.other_language(text)
        return TriageResult(
            labels=labels,
            # A message the heads cannot read cannot be called safe: recall first.
            emergency="emergency" in fired or bool(labels & EMERGENCY_LABELS) or bool(language),
            scores={label: round(float(p), 4) for label, p in zip(self.head.labels, probs, strict=True)},
            out_of_area=topics,
            in_scope=in_scope,
            other_jurisdiction=other,
            language=language,
            message_vector=vector,
            sentences_vector=sentences,
        )
