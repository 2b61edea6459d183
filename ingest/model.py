"""Typed values produced by ingest and consumed by index."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Block:
    """One paragraph (or section-end question) with the headings above it."""

    kind: str  # "paragraph" | "question"
    text: str
    section: str
    subsection: str = ""


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    content_hash: str
    jurisdiction: str
    blocks: tuple[Block, ...]
    last_reviewed: str = ""

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(b.section for b in self.blocks))

    def questions(self) -> list[tuple[str, str]]:
        """The guidance's own section-end questions, as (section, question)."""
        return [(b.section, b.text) for b in self.blocks if b.kind == "question"]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    doc_title: str
    section: str
    subsection: str
    anchor: str
    jurisdiction: str
    position: int
    text: str
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def heading(self) -> str:
        return f"{self.section} - {self.subsection}" if self.subsection else self.section

    @property
    def embed_text(self) -> str:
        # What is embedded and keyword-indexed: the paragraph alone. Prefixing the
        # section title, or keeping both vectors and taking the better, ranked a right
        # section first less often on real people's questions (tuning split; README
        # "Retrieval"), and one text per chunk means one encoder pass at ingest.
        return self.text

    def metadata(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        data.pop("text")
        data.pop("chunk_id")
        return data
