"""Load guidance files and turn them into structured, stable-id chunks."""

from ingest.chunker import CHUNKER_VERSION, chunk_document
from ingest.errors import CorpusError, IndexUnavailable, SignpostError
from ingest.loaders import SUPPORTED_SUFFIXES, content_hash, discover_files, load_document
from ingest.model import Block, Chunk, Document

__all__ = [
    "CHUNKER_VERSION",
    "Block",
    "Chunk",
    "CorpusError",
    "Document",
    "IndexUnavailable",
    "SUPPORTED_SUFFIXES",
    "SignpostError",
    "chunk_document",
    "content_hash",
    "discover_files",
    "load_document",
]
