"""SafetyTriage: immediate danger, a child at risk, and questions outside the guidance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.text import normalise_quotes

PATTERNS_FILE = Path(__file__).with_name("triage.yaml")

# Frightened people type fast: "hes outside", "im scared". Restore the apostrophe
# so one set of patterns reads both (seen throughout the golden set's tuning split).
_CONTRACTIONS = {
    "hes": "he's", "shes": "she's", "im": "i'm", "ive": "i've", "theyre": "they're",
    "youre": "you're", "someones": "someone's", "somebodys": "somebody's", "dont": "don't",
    "cant": "can't", "wont": "won't", "didnt": "didn't", "isnt": "isn't", "thats": "that's",
    "whos": "who's", "u": "you",
}
_BARE_WORD = re.compile(r"\b(" + "|".join(_CONTRACTIONS) + r")\b", re.IGNORECASE)


def normalise_message(text: str) -> str:
    """Straight quotes and restored apostrophes, for pattern matching only."""
    return _BARE_WORD.sub(lambda m: _CONTRACTIONS[m.group(1).lower()], normalise_quotes(text))


def _compile(patterns) -> list[re.Pattern]:
    if isinstance(patterns, str):
        patterns = [patterns]
    return [re.compile(p, re.IGNORECASE) for p in patterns]


@dataclass(frozen=True)
class TriageResult:
    danger: bool = False
    child_at_risk: bool = False
    out_of_area: list[str] = field(default_factory=list)  # topics the guidance does not cover
    in_scope: bool = True
    other_jurisdiction: bool = False


class SafetyTriage:
    def __init__(self, patterns_file: Path = PATTERNS_FILE):
        data = yaml.safe_load(patterns_file.read_text(encoding="utf-8"))
        self._danger = _compile(data["danger"])
        self._hypothetical = _compile(data["hypothetical"])
        self._immediacy = _compile(data["immediacy"])
        self._presence = _compile(data["presence"])
        self._fear = _compile(data["fear"])
        self._child = _compile(data["child"])
        self._child_risk = _compile(data["child_risk"])
        self._out_of_area = {topic: re.compile(p, re.IGNORECASE) for topic, p in data["out_of_area"].items()}
        self._in_scope = re.compile(data["in_scope"], re.IGNORECASE)
        self._jurisdiction = re.compile(data["jurisdiction"], re.IGNORECASE)

    @staticmethod
    def _any(patterns: list[re.Pattern], text: str) -> bool:
        return any(p.search(text) for p in patterns)

    def assess(self, question: str) -> TriageResult:
        text = normalise_message(question)
        now = self._any(self._immediacy, text)
        danger = self._any(self._danger, text) or (now and (self._any(self._presence, text) or self._any(self._fear, text)))
        if danger and self._any(self._hypothetical, text) and not now:
            danger = False
        child = self._any(self._child, text) and self._any(self._child_risk, text)
        return TriageResult(
            danger=danger,
            child_at_risk=child,
            out_of_area=[topic for topic, p in self._out_of_area.items() if p.search(text)],
            in_scope=bool(self._in_scope.search(text)),
            other_jurisdiction=bool(self._jurisdiction.search(text)),
        )
