"""Questions that ask for a figure, and whether an answer gives one (scope.yaml, `figures`).

"How long does a Stalking Protection Order last?" is not answered by the guidance's
general sentences about such orders, though they score well against it: the answer
must give a figure of the kind asked for, or say that the guidance does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.triage import SCOPE_FILE, normalise_message


@dataclass(frozen=True)
class FigureKind:
    missing: str  # what the guidance does not say, as the note and the message put it
    asked: re.Pattern
    given: re.Pattern


class FigureCheck:
    """Which figure a question asks for, and whether answer sentences give one."""

    def __init__(self, path: Path = SCOPE_FILE):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))["figures"]
        self.whole_question_words = int(data["whole_question_words"])
        self.kinds = [FigureKind(missing, re.compile(p["asked"], re.IGNORECASE), re.compile(p["given"], re.IGNORECASE)) for missing, p in data["kinds"].items()]

    def asked(self, question: str) -> list[FigureKind]:
        """The kinds of figure the question asks for, in scope.yaml's order."""
        norm = normalise_message(question)
        return [k for k in self.kinds if k.asked.search(norm)]

    def unanswered(self, question: str, sentences: list[str]) -> list[FigureKind]:
        """The kinds asked for that none of the answer's sentences gives."""
        text = " ".join(sentences)
        return [k for k in self.asked(question) if not k.given.search(text)]
