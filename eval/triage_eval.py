"""Safety triage measured on the held-out triage split (real messages and their typing variants)."""

from __future__ import annotations

import time

from app.triage import SafetyTriage
from eval.triage_data import TriageItem, load_messages, triage_intervals, triage_metrics


def evaluate_triage(triage: SafetyTriage, items: list[TriageItem] | None = None) -> dict:
    """Metrics on all held-out messages and on the real ones alone, with the misses."""
    items = items if items is not None else load_messages(split="held_out")
    t0 = time.perf_counter()
    results = triage.assess_many([item.text for item in items])  # one batch: same results as assess() each
    seconds = (time.perf_counter() - t0) / max(1, len(items))
    predicted = [set(r.labels) | ({"emergency"} if r.emergency else set()) for r in results]
    every = triage_metrics(items, predicted)

    def where(keep) -> dict:
        """Metrics on the messages `keep` accepts ({} when there are none)."""
        part = [(i, p) for i, p in zip(items, predicted, strict=True) if keep(i)]
        return triage_metrics([i for i, _ in part], [p for _, p in part])["metrics"] if part else {}

    real_only = where(lambda i: i.origin == "real")
    # Round 2 was collected after round 1's held-out numbers had been seen (and the model
    # changed since). Round 3 is P8's real questions (ordinary questions, mostly no
    # label): its held-out part measures noise on them. Round 4 was measured blind, on
    # all its messages, with the head trained before it existed (eval/data/triage/README.md "Round 4").
    # Round 5 is P8's round-5 questions (collected to tune search on), labelled for triage
    # and kept out of training too: measured blind with the session-8 head. Round 7 is P8's
    # round-6 questions, the same way: measured blind with the session-10 head. Round 8
    # was collected (session 13) to train on, and kept as a blind test instead: the
    # session-10 head again (eval/data/triage/README.md, "Round 8").
    # Every round after the first that has held-out messages (round 6 is training only).
    by_round = {f"round{n}": where(lambda i, n=n: i.round == n) for n in sorted({i.round for i in items} - {1})}
    # The messages both blind labelling passes agree on (for the emergency notice): the
    # disputed ones stay in the main figures, with their first-pass labels.
    by_round["agreed"] = where(lambda i: not i.disputed)
    # Where the noise is: hard negatives (no label) by kind (eval/data/triage/README.md).
    by_kind: dict[str, dict] = {}
    for i, p in zip(items, predicted, strict=True):
        if not i.labels and i.kind:
            k = by_kind.setdefault(i.kind, {"n": 0, "emergency": 0, "any_notice": 0})
            k["n"] += 1
            k["emergency"] += "emergency" in p
            k["any_notice"] += bool(p)
    hard_negatives_by_kind = {kind: {"n": k["n"], "emergency_rate": k["emergency"] / k["n"], "any_notice_rate": k["any_notice"] / k["n"]} for kind, k in sorted(by_kind.items())}
    mistakes = [
        {"id": i.id, "origin": i.origin, "text": i.text, "expected": sorted(i.labels), "got": sorted(p), "source": i.source}
        for i, p in zip(items, predicted, strict=True)
        if set(i.labels) != p
    ]
    return {
        "metrics": every["metrics"],
        "intervals": triage_intervals(items, predicted),
        "confusion": every["confusion"],
        "real_only": real_only,
        **by_round,
        "hard_negatives_by_kind": hard_negatives_by_kind,
        "mistakes": mistakes,
        "seconds_per_message": seconds,  # batched: the bench (make bench) times one message
    }
