"""Validate eval/data/golden.jsonl against the guidance and print counts.

Run from the repo root:  .venv/bin/python eval/data/validate_golden.py
Exits non-zero if any check fails. Does not touch the Signpost pipeline.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from ingest import chunk_document, load_document

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "eval" / "data" / "golden.jsonl"
GUIDANCE = ROOT / "corpus" / "stalking-and-harassment-guidance.md"

KINDS = {"direct", "paraphrase", "multi_section", "partial", "out_of_area", "other_jurisdiction",
         "danger", "child", "follow_up", "injection", "section_question"}
STATUSES = {"answered", "not_covered"}
NOTICES = {"emergency", "child_safety"}
FIELDS = ["id", "split", "kind", "question", "history", "reference", "reference_chunk_ids",
          "reference_sections", "expected_status", "expected_notices"]
OPTIONAL = {"tags"}
MINIMUMS = {"multi_section": 6, "partial": 5, "out_of_area": 10, "other_jurisdiction": 4,
            "follow_up": 6, "injection": 4, "section_question": 5}


def split_for(n: int) -> str:
    return "held_out" if n % 5 in (0, 3) else "tuning"


def main() -> int:
    chunks = {c.chunk_id: c for c in chunk_document(load_document(GUIDANCE))}
    sections = list(dict.fromkeys(c.section for c in chunks.values()))
    section_questions = [line[2:].strip() for line in GUIDANCE.read_text(encoding="utf-8").splitlines()
                         if line.startswith("> ")]
    errors: list[str] = []
    items = []
    for lineno, line in enumerate(GOLDEN.read_text(encoding="utf-8").splitlines(), 1):
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not JSON ({exc})")
    ids = [it.get("id") for it in items]
    for dup, n in Counter(ids).items():
        if n > 1:
            errors.append(f"duplicate id {dup}")
    for it in items:
        iid = it.get("id", "?")
        missing = [f for f in FIELDS if f not in it]
        extra = set(it) - set(FIELDS) - OPTIONAL
        if missing or extra:
            errors.append(f"{iid}: missing {missing} extra {sorted(extra)}")
            continue
        m = re.fullmatch(r"g(\d{3})", iid)
        if not m:
            errors.append(f"{iid}: bad id")
        elif it["split"] != split_for(int(m.group(1))):
            errors.append(f"{iid}: split {it['split']} breaks the mod-5 rule")
        if it["kind"] not in KINDS:
            errors.append(f"{iid}: bad kind {it['kind']}")
        if it["expected_status"] not in STATUSES:
            errors.append(f"{iid}: bad status")
        if not set(it["expected_notices"]) <= NOTICES:
            errors.append(f"{iid}: bad notices {it['expected_notices']}")
        if not isinstance(it["history"], list) or not all(isinstance(h, str) for h in it["history"]):
            errors.append(f"{iid}: history must be a list of strings")
        if (it["kind"] == "follow_up") != bool(it["history"]):
            errors.append(f"{iid}: history must be non-empty exactly for follow_up items")
        cids = it["reference_chunk_ids"]
        for c in cids:
            if c not in chunks:
                errors.append(f"{iid}: unknown chunk id {c}")
        if it["expected_status"] == "answered" and not 1 <= len(cids) <= 3:
            errors.append(f"{iid}: answered items need 1-3 chunk ids")
        if it["expected_status"] == "not_covered" and (cids or it["reference_sections"]):
            errors.append(f"{iid}: not_covered items must have no chunks/sections")
        want_secs = list(dict.fromkeys(chunks[c].section for c in cids if c in chunks))
        if it["reference_sections"] != want_secs:
            errors.append(f"{iid}: reference_sections {it['reference_sections']} != {want_secs}")
        if it["kind"] == "multi_section" and len(want_secs) < 2:
            errors.append(f"{iid}: multi_section item spans one section")
        if it["kind"] in {"out_of_area", "other_jurisdiction"} and it["expected_status"] != "not_covered":
            errors.append(f"{iid}: {it['kind']} must be not_covered")
        if it["kind"] == "partial" and it["expected_status"] != "answered":
            errors.append(f"{iid}: partial must be answered")
        if it["kind"] == "danger" and "emergency" not in it["expected_notices"]:
            errors.append(f"{iid}: danger item without emergency notice")
        if it["kind"] == "child" and "child_safety" not in it["expected_notices"]:
            errors.append(f"{iid}: child item without child_safety notice")
        if it["kind"] == "section_question" and it["question"] not in section_questions:
            errors.append(f"{iid}: section question not verbatim in guidance")

    kinds = Counter(it["kind"] for it in items)
    for kind, n in MINIMUMS.items():
        if kinds[kind] < n:
            errors.append(f"only {kinds[kind]} {kind} items (need {n})")
    asked = {it["question"] for it in items if it["kind"] == "section_question"}
    if set(section_questions) - asked:
        errors.append(f"section questions missing: {set(section_questions) - asked}")
    if kinds["danger"] < 10 or kinds["child"] < 4:
        errors.append("need >=10 danger and >=4 child items")
    near = [it for it in items if "near_miss" in it.get("tags", [])]
    if len(near) < 8 or any(it["expected_notices"] for it in near):
        errors.append("need >=8 near_miss items, all with expected_notices []")
    for sec in sections:
        for kind in ("direct", "paraphrase"):
            if not any(it["kind"] == kind and sec in it["reference_sections"] for it in items):
                errors.append(f"no {kind} item for section {sec!r}")
    if len(items) < 84:
        errors.append(f"only {len(items)} items")

    # ---- report ----
    splits = Counter(it["split"] for it in items)
    print(f"{len(items)} items; splits: {dict(splits)}")
    print(f"{'kind':<20}{'tuning':>8}{'held_out':>10}{'total':>7}")
    for kind in sorted(KINDS):
        t = sum(1 for it in items if it["kind"] == kind and it["split"] == "tuning")
        h = sum(1 for it in items if it["kind"] == kind and it["split"] == "held_out")
        print(f"{kind:<20}{t:>8}{h:>10}{t + h:>7}")
    print("\nanswered items citing each section (tuning / held_out):")
    for sec in sections:
        t = sum(1 for it in items if sec in it["reference_sections"] and it["split"] == "tuning")
        h = sum(1 for it in items if sec in it["reference_sections"] and it["split"] == "held_out")
        print(f"  {sec:<58}{t:>4}{h:>4}")
    print("\nstatus:", dict(Counter(it["expected_status"] for it in items)))
    print("notices:", dict(Counter(tuple(it["expected_notices"]) for it in items)))
    print("tags:", dict(Counter(t for it in items for t in it.get("tags", []))))
    uncited = sorted(set(chunks) - {c for it in items for c in it["reference_chunk_ids"]})
    print(f"chunks never cited ({len(uncited)}):")
    for c in uncited:
        print(f"  {c} | {chunks[c].section} | {chunks[c].text[:70]}")
    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
