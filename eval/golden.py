"""The golden set: questions written from the guidance, with references and expectations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ConfigError
from ingest.jsonl import read_lines

GOLDEN_FILE = Path(__file__).parent / "data" / "golden.jsonl"
SPLITS = ("tuning", "held_out")


@dataclass(frozen=True)
class GoldenItem:
    id: str
    split: str
    kind: str
    question: str
    reference: str
    expected_status: str
    history: list = field(default_factory=list)
    reference_chunk_ids: list = field(default_factory=list)
    reference_sections: list = field(default_factory=list)
    expected_notices: list = field(default_factory=list)
    tags: list = field(default_factory=list)


_REQUIRED = ("id", "split", "kind", "question", "reference", "expected_status")


def load_golden(path: Path = GOLDEN_FILE, split: str = "all") -> list[GoldenItem]:
    """The golden items of one split (or all); a malformed line is a ConfigError naming it."""
    items = []
    for number, data in read_lines(path, "the golden set"):
        missing = [k for k in _REQUIRED if not isinstance(data.get(k), str)]
        if missing:
            raise ConfigError(f"{path}:{number}: missing or not text: {', '.join(missing)}")
        known = {k: v for k, v in data.items() if k in GoldenItem.__dataclass_fields__}
        item = GoldenItem(**known)
        if item.split not in SPLITS:
            raise ConfigError(f"{path}:{number}: split must be one of {', '.join(SPLITS)}")
        if split in ("all", item.split):
            items.append(item)
    return items
