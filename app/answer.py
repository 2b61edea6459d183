"""The typed answer every surface (CLI, web, API, eval) receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

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



@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage


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
    reason: str = ""  # machine-readable detail: see AnswerOut.reason
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
        """The JSON every surface sends (CLI --json, the API): AnswerOut's serialization."""
        return AnswerOut.of(self).model_dump(mode="json", by_alias=True)


# --- the wire format: one pydantic model, the API's response model and every surface's serializer ---


class HelplineOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    name: str
    number: str
    for_: str = Field(alias="for")


class NoticeOut(BaseModel):
    kind: str = Field(description="emergency | child_safety | crisis | partial | signpost | jurisdiction | info")
    text: str
    items: list[HelplineOut]
    source: str = Field(description="triage: raised by safety triage for this message; fixed: carried by every answer of this status")


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc: str
    doc_title: str
    section: str
    subsection: str
    anchor: str
    text: str


class RelatedOut(BaseModel):
    chunk_id: str
    doc: str
    section: str
    text: str


class AnswerOut(BaseModel):
    status: Status = Field(description="answered | not_covered | invalid_question | error")
    answer: str = Field(description="The answer; each statement ends with [n] marks that refer to citations.")
    citations: list[CitationOut]
    notices: list[NoticeOut] = Field(description="Show these first; emergency notices above the answer.")
    disclaimer: str
    reason: str = Field(
        description="Why, when not answered: empty | too_long | too_large | schema (invalid_question); out_of_area | jurisdiction | language | no_support | off_topic | no_figure (not_covered); unavailable | busy | rate_limited | too_many_streams | internal (error). Empty when answered."
    )
    related: list[RelatedOut] = Field(description="Passages that may be related, when the guidance does not cover the question.")
    composer: str
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        return cls(
            status=answer.status,
            answer=answer.answer,
            citations=[
                CitationOut(n=c.n, chunk_id=c.passage.chunk_id, doc=c.passage.doc_id, doc_title=c.passage.doc_title, section=c.passage.section, subsection=c.passage.subsection, anchor=c.passage.anchor, text=c.passage.text)
                for c in answer.citations
            ],
            notices=[NoticeOut(kind=n.kind, text=n.text, items=[HelplineOut.model_validate(dict(i)) for i in n.items], source=n.source) for n in answer.notices],
            disclaimer=answer.disclaimer,
            reason=answer.reason,
            related=[RelatedOut(chunk_id=p.chunk_id, doc=p.doc_id, section=p.section, text=p.text) for p in answer.related],
            composer=answer.composer,
            timings_ms={k: round(v, 2) for k, v in answer.timings_ms.items()},
        )
