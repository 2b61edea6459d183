"""The golden set: questions written from the guidance, with references and expectations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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


def load_golden(path: Path = GOLDEN_FILE, split: str = "all") -> list[GoldenItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        known = {k: v for k, v in data.items() if k in GoldenItem.__dataclass_fields__}
        item = GoldenItem(**known)
        if item.split not in SPLITS:
            raise ValueError(f"{path}:{number}: split must be one of {SPLITS}")
        if split in ("all", item.split):
            items.append(item)
    return items
