"""Build real_questions.jsonl, the real-question set, from the collected questions.

    python eval/data/questions/build.py     # deterministic: same inputs, same file

Each collected line is a question a real person asked online, with its page, labelled
by its collector with the guidance sections that answer it and the coverage (full,
partial, none); see README.md. The split is decided by a hash of the page, so one
page's questions never sit on both sides and adding data never moves a page:
about half held-out, half tuning. Tune only on tuning. A test-only round (rounds 4, 7
and 8, measured blind; no committed model has read them) is held-out whole; a
tuning-only round (rounds 5 and 6, collected because the tuning split was too small to
tune on) is tuning whole.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # run as a script from anywhere: the project's packages

from ingest.jsonl import read_lines, write_lines  # noqa: E402

HELD_OUT_PERCENT = 50
GUIDANCE = HERE.parents[2] / "corpus" / "stalking-and-harassment-guidance.md"
# The guidance's top-level sections, the only labels a question may carry.
SECTIONS = tuple(line[3:].strip() for line in GUIDANCE.read_text(encoding="utf-8").splitlines() if line.startswith("## "))
TEST_ONLY_ROUNDS = {4, 7, 8}  # measured blind and kept out of tuning: every question is held-out (round 8: README "Round 8")
TUNING_ONLY_ROUNDS = {5, 6}  # collected to tune on (README "Round 5", "Round 6"): every question is tuning
FIELDS = ("id", "split", "question", "sections", "coverage", "jurisdiction", "speaker", "source", "source_title", "source_kind", "form", "round", "disputed")


def _page(url: str) -> str:
    parsed = urlparse(url)
    return (parsed.netloc.removeprefix("www.") + parsed.path).rstrip("/").lower() or url


def build() -> list[dict]:
    out, seen = [], set()
    for path in sorted((HERE / "collected").glob("*.jsonl")):
        for number, item in read_lines(path, "a collected question file"):
            unknown = set(item["sections"]) - set(SECTIONS)
            if unknown or item["coverage"] not in ("full", "partial", "none"):
                raise SystemExit(f"{path}:{number}: unknown section {sorted(unknown)} or coverage {item['coverage']!r}")
            norm = " ".join(item["question"].lower().split())
            if norm in seen:
                continue
            seen.add(norm)
            page = _page(item["source"])
            match = re.match(r"round(\d+)", path.stem)
            rnd = int(match.group(1)) if match else 1
            if rnd > 1:
                item["round"] = rnd
            if rnd in TEST_ONLY_ROUNDS:
                item["split"] = "held_out"
            elif rnd in TUNING_ONLY_ROUNDS:
                item["split"] = "tuning"
            else:
                item["split"] = "held_out" if int(hashlib.sha256(page.encode()).hexdigest(), 16) % 100 < HELD_OUT_PERCENT else "tuning"
            out.append({k: item[k] for k in FIELDS if k in item})
    # second_pass.jsonl: a blind second labelling (README.md). Where it and the first
    # disagree on whether the guidance answers the question at all, the question is
    # `disputed`; it keeps its first-pass labels, and the eval also reports the rest alone.
    second = {d["id"]: d for _, d in read_lines(HERE / "second_pass.jsonl", "the second labelling pass")}
    for item in out:
        other = second.get(item["id"])
        if other is not None and (item["coverage"] == "none") != (other["coverage"] == "none"):
            item["disputed"] = True
    return out


def main() -> int:
    items = build()
    write_lines(HERE / "real_questions.jsonl", items)
    print(f"{len(items)} questions: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter((i["split"], i["coverage"]) for i in items).items())))
    print("disputed (the two labelling passes disagree on off-topic or not): " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(i["split"] for i in items if i.get("disputed")).items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
