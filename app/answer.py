"""The typed answer every surface (CLI, web, API, eval) receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from index.types import Passage


class Status(str, Enum):
    ANSWERED = "answered"
    NOT_COVERED = "not_covered"
    INVALID_QUESTION = "invalid_question"
    ERROR = "error"


@dataclass(frozen=True)
class Notice:
    """Shown before the answer. kind: emergency | child_safety | crisis | partial | signpost | jurisdiction | info.

    source: "triage" when safety triage raised it for this message; "fixed" for lines
    every answer of its status carries (the 999 line on an error page, helplines).
    """

    kind: str
    text: str
    items: tuple[dict, ...] = ()  # helplines: {"name", "number", "for"}
    source: str = "fixed"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "items": [dict(i) for i in self.items], "source": self.source}


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "n": self.n,
            "chunk_id": p.chunk_id,
            "doc": p.doc_id,
            "doc_title": p.doc_title,
            "section": p.section,
            "subsection": p.subsection,
            "anchor": p.anchor,
            "text": p.text,
        }


@dataclass(frozen=True)
class Sentence:
    """One answer sentence and the passages (0-based into the shown list) it rests on."""

    text: str
    sources: tuple[int, ...]


@dataclass
class Answer:
    status: Status
    answer: str
    citations: list[Citation]
    notices: list[Notice]
    disclaimer: str
    reason: str = ""  # machine-readable detail: empty, too_long, out_of_area, no_support, ...
    related: list[Passage] = field(default_factory=list)  # "may be related" when not covered
    composer: str = ""
    timings_ms: dict = field(default_factory=dict)
    retrieved: list[Passage] = field(default_factory=list, repr=False)  # for eval and debugging; not sent to clients

    @classmethod
    def fixed(cls, status: Status, message: str, reason: str, notices: list[Notice] | None = None, **extra) -> Answer:
        """An answer that is only a fixed message. Errors always lead with an emergency
        notice: triage's own if it raised one, else the 999 line."""
        from app import messages

        notices = list(notices or [])
        if status is Status.ERROR and not any(n.kind == "emergency" for n in notices):
            notices.insert(0, Notice("emergency", messages.DANGER_LINE))
        return cls(status, message, [], notices, messages.DISCLAIMER, reason, **extra)

    def to_dict(self) -> dict:
        return {
            "status": self.status.value,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "notices": [n.to_dict() for n in self.notices],
            "disclaimer": self.disclaimer,
            "reason": self.reason,
            "related": [{"chunk_id": p.chunk_id, "doc": p.doc_id, "section": p.section, "text": p.text} for p in self.related],
            "composer": self.composer,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
