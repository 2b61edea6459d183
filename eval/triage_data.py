"""The triage data set (eval/data/triage/messages.jsonl) and the per-label metrics on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.triage import EMERGENCY_LABELS, LABELS
from eval.intervals import grouped_interval
from ingest.errors import ConfigError
from ingest.jsonl import read_lines

MESSAGES_FILE = Path(__file__).parent / "data" / "triage" / "messages.jsonl"
TRIAGE_SPLITS = ("train", "held_out")


@dataclass(frozen=True)
class TriageItem:
    id: str
    split: str
    origin: str  # real | variant | team
    text: str
    labels: frozenset
    group: str  # the source group; splits never share one
    source: str = ""
    style: str = ""
    round: int = 1  # collection round; round 2 was gathered after round 1's held-out had been measured
    disputed: bool = False  # two blind labelling passes disagree on the emergency notice (not trained on)
    kind: str = ""  # for a message with no label: what kind of message it is (README.md)
    extra: dict = field(default_factory=dict, compare=False)


def load_messages(path: Path = MESSAGES_FILE, split: str = "all") -> list[TriageItem]:
    items = []
    for number, data in read_lines(path, "the triage data"):
        try:
            labels = frozenset(data["labels"])
            item = TriageItem(data["id"], data["split"], data["origin"], data["text"], labels, data["group"], data.get("source", ""), data.get("style", ""), int(data.get("round") or 1), bool(data.get("disputed")), data.get("kind", ""))
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path}:{number}: not a triage message (id, split, origin, text, labels, group)") from None
        if item.split not in TRIAGE_SPLITS or not labels <= set(LABELS):
            raise ConfigError(f"{path}:{number}: split must be one of {', '.join(TRIAGE_SPLITS)} and labels among {', '.join(LABELS)}")
        if split in ("all", item.split):
            items.append(item)
    return items


def _safe(n: float, d: float) -> float | None:
    return n / d if d else None


def _target_flags(items: list[TriageItem], predicted: list[set]) -> dict[str, tuple[list[int], list[bool]]]:
    """Per figure the issue sets a target for: the messages it rates, and whether each
    got its notice (each label's notice: the emergency notice for immediate_danger and
    threat) or, for hard negatives (no label at all: fearful questions, past events, the
    law), the emergency notice."""
    out = {}
    for label in LABELS:
        notice = "emergency" if label in EMERGENCY_LABELS else label
        rows = [n for n, i in enumerate(items) if label in i.labels]
        out[f"{label}_notice_recall"] = (rows, [notice in predicted[n] for n in rows])
    rows = [n for n, i in enumerate(items) if not i.labels]
    out["hard_negative_emergency_rate"] = (rows, ["emergency" in predicted[n] for n in rows])
    return out


def triage_metrics(items: list[TriageItem], predicted: list[set]) -> dict:
    """Per-label recall, precision and false-alarm rate; for each label, the recall of
    the notice it calls for (the emergency notice for immediate_danger and threat);
    the emergency notice as one; a confusion count per label.

    `predicted`: per message, the labels triage gave, plus "emergency" when it showed
    the emergency notice."""
    out: dict = {}
    confusion = {}
    targets = _target_flags(items, predicted)
    for label in LABELS:
        tp = sum(1 for i, p in zip(items, predicted, strict=True) if label in i.labels and label in p)
        fn = sum(1 for i, p in zip(items, predicted, strict=True) if label in i.labels and label not in p)
        fp = sum(1 for i, p in zip(items, predicted, strict=True) if label not in i.labels and label in p)
        tn = len(items) - tp - fn - fp
        confusion[label] = {"tp": tp, "fn": fn, "fp": fp, "tn": tn}
        out[f"{label}_recall"] = _safe(tp, tp + fn)
        out[f"{label}_precision"] = _safe(tp, tp + fp)
        out[f"{label}_false_alarm_rate"] = _safe(fp, fp + tn)
        hits = targets[f"{label}_notice_recall"][1]
        out[f"{label}_notice_recall"] = _safe(sum(hits), len(hits))
    wants = [bool(i.labels & EMERGENCY_LABELS) for i in items]
    gets = ["emergency" in p for p in predicted]
    out["emergency_recall"] = _safe(sum(w and g for w, g in zip(wants, gets, strict=True)), sum(wants))
    out["emergency_precision"] = _safe(sum(w and g for w, g in zip(wants, gets, strict=True)), sum(gets))
    none = targets["hard_negative_emergency_rate"][1]
    out["hard_negative_emergency_rate"] = _safe(sum(none), len(none))
    any_notice = [bool(p) for i, p in zip(items, predicted, strict=True) if not i.labels]
    out["hard_negative_any_notice_rate"] = _safe(sum(any_notice), len(any_notice))
    out["n"] = len(items)
    return {"metrics": out, "confusion": confusion}


def triage_intervals(items: list[TriageItem], predicted: list[set]) -> dict[str, tuple[float, float] | None]:
    """95% intervals of the figures the issue sets targets for, resampling source groups:
    a message and its typing variants move together (eval/intervals.py)."""
    return {name: grouped_interval(hits, [items[n].group for n in rows]) for name, (rows, hits) in _target_flags(items, predicted).items()}
