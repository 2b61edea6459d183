"""Turn a Document into Chunks with stable ids.

A chunk is one paragraph of guidance, carrying its section title for context.
Paragraphs longer than the embedding model's window are split on sentence
boundaries by llama-index's SentenceSplitter. Section-end questions are not
chunks: they are the guidance's own suggested questions, kept in the manifest.
"""

from __future__ import annotations

import hashlib
import re

from ingest.model import Chunk, Document

# Bump when chunk boundaries or ids change: a new version forces a full rebuild.
CHUNKER_VERSION = "paragraph-v1"
# all-MiniLM-L6-v2 reads 256 word pieces; leave room for the section heading.
MAX_CHUNK_TOKENS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
CHUNK_OVERLAP_TOKENS = 20


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (the composer's unit; their vectors are made at ingest)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def anchor_for(section: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-")


def chunk_id_for(doc_id: str, section: str, subsection: str, text: str, occurrence: int) -> str:
    # Same document, heading and text -> same id in every run, wherever it moves.
    key = "\x1f".join((doc_id, section, subsection, " ".join(text.split()), str(occurrence)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _split_long(text: str) -> list[str]:
    if len(text.split()) <= MAX_CHUNK_TOKENS * 0.6:
        return [text]
    # Imported here: llama-index is slow to import and most paragraphs never need it.
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=MAX_CHUNK_TOKENS, chunk_overlap=CHUNK_OVERLAP_TOKENS)
    return [part.strip() for part in splitter.split_text(text) if part.strip()]


def chunk_document(doc: Document) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[tuple[str, str, str], int] = {}
    for block in doc.blocks:
        if block.kind != "paragraph":
            continue
        for part in _split_long(block.text):
            key = (block.section, block.subsection, part)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            chunks.append(
                Chunk(
                    chunk_id=chunk_id_for(doc.doc_id, block.section, block.subsection, part, occurrence),
                    doc_id=doc.doc_id,
                    doc_title=doc.title,
                    section=block.section,
                    subsection=block.subsection,
                    anchor=anchor_for(block.section),
                    jurisdiction=doc.jurisdiction,
                    position=len(chunks),
                    text=part,
                    source=doc.source,
                )
            )
    return chunks
