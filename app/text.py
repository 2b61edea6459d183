"""Small text helpers shared by the composer and the verifier."""

from __future__ import annotations

import re

from ingest.chunker import split_sentences  # noqa: F401  (shared by the composer and the verifier)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOP_WORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "i'm", "it's", "what's", "can't", "don't", "he's", "she's", "they're", "ive", "im", "get", "got", "also", "may", "might", "must"]
)
_NUMBER = re.compile(r"\d[\d ]*\d|\d")
_ACT = re.compile(r"\b((?:[A-Z][a-z]+ )+(?:of |from |and )?(?:[A-Z][a-z]+ )*Act(?: \d{4})?)")
_URL = re.compile(r"(https?://|www\.)\S+", re.I)


def normalise_quotes(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")


def _stem(word: str) -> str:
    # A light suffix strip so "orders"/"order" and "applying"/"apply" meet.
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def content_terms(text: str) -> set[str]:
    words = _WORD.findall(normalise_quotes(text).lower())
    return {_stem(w) for w in words if w not in STOP_WORDS and len(w) > 1}


def coverage(of: set[str], by: set[str]) -> float:
    """Share of the terms in `of` that also appear in `by`."""
    return len(of & by) / len(of) if of else 0.0


def numbers_in(text: str) -> set[str]:
    return {re.sub(r"\s+", "", n) for n in _NUMBER.findall(text)}


def acts_in(text: str) -> set[str]:
    return {a.lower() for a in _ACT.findall(normalise_quotes(text))}


def has_url(text: str) -> bool:
    return bool(_URL.search(text))
