"""QuestionGuard: make the question safe to handle as plain data."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Format characters (zero-width, bidi overrides, Unicode tags), private use and
# unpaired surrogates can hide text from a reader or a filter: strip them.
_STRIP_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}
# Bounded work on hostile input: anything far over the limit is rejected unread.
HARD_CAP_FACTOR = 4

_PHONE = re.compile(r"(?<!\w)(?:\+44\s?|0)(?:\d[\s-]?){9,10}(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)


@dataclass(frozen=True)
class GuardedQuestion:
    text: str  # cleaned; for "too_long" the text (when under the hard cap) for triage only
    problem: str = ""  # "" | "empty" | "too_long"


def clean_text(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    kept = []
    for ch in text:
        if ch in "\n\t\r":
            kept.append(" ")
        elif unicodedata.category(ch) not in _STRIP_CATEGORIES:
            kept.append(ch)
    return " ".join("".join(kept).split())


def redact(text: str) -> str:
    """Replace phone numbers, emails and postcodes, for anything that might be logged."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _POSTCODE.sub("[postcode]", text)


class QuestionGuard:
    def __init__(self, max_chars: int):
        self.max_chars = max_chars

    def check(self, raw: str | None) -> GuardedQuestion:
        if raw is None:
            return GuardedQuestion("", "empty")
        if len(raw) > self.max_chars * HARD_CAP_FACTOR:
            return GuardedQuestion("", "too_long")
        text = clean_text(raw)
        if not text or not any(ch.isalnum() for ch in text):
            return GuardedQuestion("", "empty")
        if len(text) > self.max_chars:
            # Too long to answer, but kept: safety triage still reads it (a long story
            # can end "he's outside now"), so the notices come with the refusal.
            return GuardedQuestion(text, "too_long")
        return GuardedQuestion(text)
