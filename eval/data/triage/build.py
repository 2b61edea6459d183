"""Build messages.jsonl, the triage data set, from the collected real messages.

    python eval/data/triage/build.py        # deterministic: same inputs, same file

Inputs (each line one message with its source; see README.md):
  collected/*.jsonl      real messages found with the search tool, labelled by their collectors
  review.jsonl           a label audit against one written guideline (README.md), done
                         without seeing any model output; its labels replace the collectors'
  team_negatives.jsonl   hard negatives we wrote ourselves (train split only)
  second_pass.jsonl      a second, blind labelling of every real message against the same
                         guideline; where it and the labels above disagree on the emergency
                         notice, the message (and its variants) is marked `disputed`
  negative_kinds.jsonl   for each real message with no label, what kind of message it is
                         (a question about the law, a past event, ...), to show where noise is

Output: messages.jsonl with a `split` per message. The split is decided per source
group (a page, merged with any page that shares a message text), by a hash of the
group's key, so variants of one message, and messages of one page, never sit on both
sides, and adding data never moves an existing group. Variants only change how a
message is typed (case, apostrophes, text-speak, typos, UK words, a quoted text, a
longer story around it); each keeps its original's labels, source and split.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # run as a script from anywhere: the project's packages

from ingest.jsonl import read_lines, write_lines  # noqa: E402

LABELS = ("immediate_danger", "threat", "child_at_risk", "self_harm")
HELD_OUT_PERCENT = 40
TEST_ONLY_ROUNDS = {4, 5, 7, 8, 9, 10, 11, 12, 13, 14}  # measured blind and kept out of training: every message is held-out
# Collected to train on (README "Round 6"): every message is train, so the held-out split
# stays the one earlier sessions measured, and the numbers before and after compare.
TRAIN_ONLY_ROUNDS = {6}
_FIRST_BUILD = 3  # rounds 1 to 3 were first built together (see the filler pool in build())

_UK = [
    (r"\b911\b", "999"), (r"\bmom\b", "mum"), (r"\bmoms\b", "mums"), (r"\bmommy\b", "mummy"), (r"\bmama\b", "mum"),
    (r"\bapartment\b", "flat"), (r"\bcell ?phone\b", "mobile"), (r"\bcops\b", "police"), (r"\bcop\b", "police officer"),
    (r"\bcolor\b", "colour"), (r"\bneighbor", "neighbour"), (r"\bgotten\b", "got"),
]
_TEXTSPEAK = [
    (r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\byou're\b", "ur"), (r"\bare\b", "r"), (r"\bbecause\b", "cos"),
    (r"\bplease\b", "pls"), (r"\btonight\b", "2nite"), (r"\bpeople\b", "ppl"), (r"\bwith\b", "w"), (r"\bthough\b", "tho"),
    (r"\bdon't\b", "dont"), (r"\bi'm\b", "im"), (r"\bcan't\b", "cant"), (r"\bwhat\b", "wat"), (r"\bbefore\b", "b4"),
]
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _records(name: str) -> list[dict]:
    """The JSON objects of one of this folder's line files."""
    return [data for _, data in read_lines(HERE / name, name)]


def _sub_all(text: str, table) -> str:
    for pattern, repl in table:
        text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
    return text


def uk_words(text: str) -> str:
    return _sub_all(text, _UK)


def plain_lower(text: str, rng: random.Random) -> str:
    text = text.translate(_QUOTES).lower().replace("'", "")
    return re.sub(r"[.!?]+\s*$", "", text)


def textspeak(text: str, rng: random.Random) -> str:
    text = _sub_all(text.translate(_QUOTES).lower(), _TEXTSPEAK)
    return re.sub(r"[,;]", "", text).replace("'", "")


def typos(text: str, rng: random.Random) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    for i in rng.sample(candidates, min(2, len(candidates))):
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.6 else w[:j] + w[j + 1 :]
    return " ".join(words).lower() if rng.random() < 0.5 else " ".join(words)


STYLES = {"lower_no_apostrophes": plain_lower, "textspeak": textspeak, "typos": typos}
_QUOTE_FRAMES = [
    'he just sent me this: "{t}" what do i do',
    'got a text from my ex saying "{t}"',
    "this was left on my car: {t}",
    'voicemail from him tonight - "{t}" - im shaking',
]


def _key(url: str) -> str:
    parsed = urlparse(url)
    return (parsed.netloc.removeprefix("www.") + parsed.path).rstrip("/").lower() or url


def _stable_percent(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100


def _same_text(text: str) -> str:
    """What two copies of one quote have in common: its words, lower case."""
    return " ".join(text.lower().split())


def _groups(items: list[dict]) -> dict[str, str]:
    """item id -> group key: a page, merged with pages that share a message text."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    by_text: dict[str, str] = {}
    for item in items:
        page = _key(item["source"])
        find(page)
        norm = _same_text(item["text"])
        if norm in by_text:
            a, b = sorted((find(page), find(by_text[norm])))
            parent[b] = a
        else:
            by_text[norm] = page
    return {item["id"]: find(_key(item["source"])) for item in items}


# Filler for "long story" variants must be plainly ordinary, whatever its message's label.
_ALARMING = re.compile(r"kill|knife|gun|hit|threat|hurt|die|dead|suicid|stab|attack|rape|abus|beat|chok|strangl|weapon|police|999|911|blood|fear|scared|afraid", re.I)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s.split()) >= 4]


def _collection_order(path: Path) -> tuple[int, str]:
    """(round, file name) of a collected file: round 1's files have no round prefix."""
    match = re.match(r"round(\d+)_", path.name)
    return (int(match.group(1)) if match else 1, path.name)


def build() -> list[dict]:
    real = []
    collected = {path: _records(f"collected/{path.name}") for path in sorted((HERE / "collected").glob("*.jsonl"))}
    # The same quote found twice is kept where it was found first: in the earliest round
    # (by file name, round14_* would sort before round2_*, and a later round's copy would
    # take an earlier message's place), then the first file and line.
    first_found: dict[str, tuple[Path, int]] = {}
    for path in sorted(collected, key=_collection_order):
        for line, item in enumerate(collected[path]):
            first_found.setdefault(_same_text(item["text"]), (path, line))
    for path, items in collected.items():
        for line, item in enumerate(items):
            if first_found[_same_text(item["text"])] != (path, line):
                continue  # found again: keep the first
            # round 2 (collected/round2_*) was collected after the model's first held-out
            # measurements, so its held-out part is reported on its own as a blind test;
            # round 3 (collected/round3_*) is the real-question set of P8, labelled for
            # triage; round 4 (collected/round4_*) was measured blind before any training;
            # round 5 (collected/round5_*) is P8's round-5 questions, kept out of training too;
            # round 6 (collected/round6_*) was collected to train on; round 7 is P8's round-6
            # questions, kept out of training; round 8 (collected/round8_*) was collected to train on
            # and is kept out of training (README "Round 8"); round 9 (collected/round9_*) was
            # collected to measure threat recall on, blind (README "Round 9"); round 10
            # (collected/round10_*) was collected to train on and is kept out of training
            # (README "Round 10"); round 11 (collected/round11_*) was collected to measure
            # session 16's rules on, blind (README "Round 11"); round 12 (collected/round12_*)
            # to measure session 17's border reader on, blind (README "Round 12"); round 13
            # (collected/round13_*) to measure the committed head on new kinds of page, blind
            # (README "Round 13"); round 14 (collected/round14_*) to measure the child
            # notice, blind, after session 20 moved its threshold (README "Round 14")
            real.append({**item, "origin": "real", "round": _collection_order(path)[0]})
    review = {r["id"]: r["labels"] for r in _records("review.jsonl")} if (HERE / "review.jsonl").exists() else {}
    second = {r["id"]: set(r["labels"]) for r in _records("second_pass.jsonl")}
    kinds = {r["id"]: r["kind"] for r in _records("negative_kinds.jsonl")}
    emergency = {"immediate_danger", "threat"}
    for item in real:
        item["labels"] = review.get(item["id"], item["labels"])
        # A disputed message keeps its labels, but triage training leaves it (and its
        # variants) out: two careful readings disagree on whether it needs the 999 notice.
        if item["id"] in second and bool(set(item["labels"]) & emergency) != bool(second[item["id"]] & emergency):
            item["disputed"] = True
        if not item["labels"] and item["id"] in kinds:
            item["kind"] = kinds[item["id"]]
    team = [{**r, "origin": "team"} for r in _records("team_negatives.jsonl")]

    group = _groups(real)
    # A source group is held-out when every message in it is from a test-only round
    # (never trained on; README "Round 4"), train when every one is from a train-only
    # round, and otherwise as its hash says.
    rounds = defaultdict(set)
    for item in real:
        rounds[group[item["id"]]].add(item["round"])
    for item in real:
        item["group"] = group[item["id"]]
        if rounds[item["group"]] <= TEST_ONLY_ROUNDS:
            item["split"] = "held_out"
        elif rounds[item["group"]] <= TRAIN_ONLY_ROUNDS:
            item["split"] = "train"
        else:
            item["split"] = "held_out" if _stable_percent(item["group"]) < HELD_OUT_PERCENT else "train"
    for item in team:
        item["group"], item["split"] = "signpost-team", "train"

    variants = []
    # Filler for long-story variants: ordinary sentences of the same split. Rounds 1 to 3
    # were built together and share one pool; a later round's messages are filler only
    # for that round's variants and later ones, so adding a round never changes the text
    # of an existing variant.
    fillers = defaultdict(list)  # (split, round) -> sentences
    for item in real:
        if not item["labels"]:
            fillers[item["split"], max(item["round"], _FIRST_BUILD)].extend(s for s in _sentences(item["text"]) if not _ALARMING.search(s))
    pools: dict[tuple[str, int], list[str]] = {}  # (split, round) -> the filler that round's variants draw from
    for split, rnd in fillers:
        pools[split, rnd] = [s for (sp, r), found in sorted(fillers.items()) if sp == split and r <= rnd for s in found]
    for item in real:
        rng = random.Random(item["id"])
        base = {k: item[k] for k in ("labels", "source", "source_title", "source_kind", "speaker", "group", "split", "round", "disputed", "kind") if k in item}
        style = sorted(STYLES)[_stable_percent(item["id"]) % len(STYLES)]
        variants.append({**base, "id": f"{item['id']}-v1", "text": STYLES[style](uk_words(item["text"]), rng), "origin": "variant", "variant_of": item["id"], "style": style})
        if item["speaker"] == "perpetrator" and "threat" in item["labels"] and len(item["text"]) < 300:
            frame = _QUOTE_FRAMES[_stable_percent(item["id"] + "q") % len(_QUOTE_FRAMES)]
            variants.append({**base, "id": f"{item['id']}-v2", "text": frame.format(t=item["text"].strip()), "origin": "variant", "variant_of": item["id"], "style": "quoted"})
        elif item["labels"] and len(item["text"]) < 300:
            # a longer story with one dangerous part: ordinary sentences from the same split first
            pool = pools.get((item["split"], max(item["round"], _FIRST_BUILD)), [])
            story = " ".join(rng.sample(pool, min(3, len(pool))))
            text = f"{story} {item['text'].strip()}"[:600]
            variants.append({**base, "id": f"{item['id']}-v2", "text": text, "origin": "variant", "variant_of": item["id"], "style": "long_story"})

    out = []
    for item in real + team + variants:
        out.append({k: item.get(k) for k in ("id", "split", "origin", "text", "labels", "source", "source_title", "source_kind", "speaker", "form", "group", "round", "variant_of", "style", "disputed", "kind") if item.get(k) is not None})
    return out


def main() -> int:
    items = build()
    write_lines(HERE / "messages.jsonl", items)
    counts = Counter((i["split"], i["origin"]) for i in items)
    print(f"{len(items)} messages: " + ", ".join(f"{s}/{o} {n}" for (s, o), n in sorted(counts.items())))
    disputed = Counter(i["split"] for i in items if i["origin"] == "real" and i.get("disputed"))
    print(f"disputed (the two labelling passes disagree on the emergency notice): {dict(sorted(disputed.items()))} real messages")
    for split in ("train", "held_out"):
        labels = Counter(lab for i in items if i["split"] == split for lab in (i["labels"] or ["none"]))
        real = Counter(lab for i in items if i["split"] == split and i["origin"] == "real" for lab in (i["labels"] or ["none"]))
        print(f"{split:9s} all: {dict(sorted(labels.items()))}  real: {dict(sorted(real.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
