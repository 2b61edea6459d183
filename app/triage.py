"""SafetyTriage: immediate danger, a child at risk, and questions outside the guidance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.text import normalise_quotes

PATTERNS_FILE = Path(__file__).with_name("triage.yaml")


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
        text = normalise_quotes(question)
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
