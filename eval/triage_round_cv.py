"""How the emergency head does on a collection round it has not seen: `python -m eval.triage_round_cv`.

`make triage-model` chooses thresholds by 5-fold cross-validation with folds by source
page. Messages of one collection round resemble each other (the same collectors,
searches and kinds of page), so page folds flatter the head: most later rounds have read
lower than they said. This cross-validates the emergency head the same way (the
committed C and blend, the segment step, the border reader) with folds by collection
round instead (round 1, round 2, rounds 3 and 6; team, golden and guidance rows keep
page folds), and
prints recall, hard negatives firing and the golden set's ordinary questions firing at
a few thresholds, beside the page-fold figures. Training split only; prints numbers,
asserts nothing (session 15, docs/results.md "Safety triage").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ROUND_FOLDS = {1: 0, 2: 1, 3: 2, 6: 2}  # rounds 3 (P8's questions, 3 danger messages) and 6 share a fold
THRESHOLDS = (0.07, 0.05, 0.03, 0.02, 0.01, 0.005)


@dataclass
class EmergencyInputs:
    """What an experiment on the committed emergency head starts from."""

    embedder: object
    c: float
    whole_weight: float | None
    threshold: float
    border_c: float | None  # the border reader's C, or None when the head has none
    items: list  # TriageItem: the messages chosen, not disputed, and the trainer's extra negatives
    veto: np.ndarray  # per item: the rules set the learned labels aside (SafetyRules.vetoes)


def emergency_inputs(keep: Callable) -> EmergencyInputs:
    """The committed head's emergency settings and the triage messages `keep` selects.
    Raises SignpostError on a missing or mismatched head or bad data."""
    from app.services import Services
    from app.settings import load_settings
    from app.triage import HEAD_FILE, SafetyRules, TriageHead
    from eval import triage_train as train
    from eval.triage_data import load_messages

    embedder = Services(load_settings()).embedder
    head = TriageHead.load(HEAD_FILE, embedder.model_id)
    items = [m for m in load_messages(train.MESSAGES_FILE) if not m.disputed and keep(m)] + train.extra_negatives()
    emergency = head.labels.index("emergency")
    rules = SafetyRules()
    return EmergencyInputs(
        embedder,
        head.info["cross_validation"]["emergency"]["C"],
        head.whole_weights[emergency],
        float(head.thresholds[emergency]),
        head.info["cross_validation"]["emergency"].get("border_C"),
        items,
        np.array([rules.vetoes(i.text) for i in items]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.triage_round_cv", description=__doc__.split("\n\n")[0])
    parser.add_argument("--border-power", type=float, default=1.0, help="score with the head's score times the border reader's to this power (default 1, as the app does; session 17 found 2 reads better across rounds)")
    args = parser.parse_args(argv)
    from app.offline import apply_offline_env

    apply_offline_env()
    from sklearn.metrics import average_precision_score

    from eval import triage_train as train
    from ingest.errors import SignpostError

    try:  # a missing or mismatched head, or bad data, is one line, as in `make triage-model`
        inputs = emergency_inputs(lambda m: m.split == "train")
    except SignpostError as err:
        print(f"signpost: {err}", file=sys.stderr)
        return 2
    items, c, weight, veto = inputs.items, inputs.c, inputs.whole_weight, inputs.veto
    feats = train.Features(items, inputs.embedder)
    page_folds = np.array([train.fold_of(i.group) for i in items])
    unknown = sorted({i.round for i in items if i.origin in ("real", "variant")} - set(ROUND_FOLDS))
    if unknown:  # a new training round needs a place here
        raise SystemExit(f"python -m eval.triage_round_cv: training round(s) {unknown} have no fold in ROUND_FOLDS")
    round_folds = np.array([ROUND_FOLDS[i.round] if i.origin in ("real", "variant") else 3 + train.fold_of(i.group) % 2 for i in items])
    counted = np.array([i.origin in ("real", "variant", "team") for i in items])
    positive = feats.positive("emergency")
    hard = counted & feats.unlabelled
    golden = np.array([i.origin == "golden" for i in items])
    positive_in_round = {r: counted & positive & np.array([i.round == r for i in items]) for r in (1, 2)}
    print(f"emergency head: C {c}, whole weight {weight}, border reader C {inputs.border_c} (to the power {args.border_power:g}), committed threshold {inputs.threshold:.3f}")
    for name, folds in (("page folds", page_folds), ("round folds", round_folds)):
        rows = train.cross_validate(feats, "emergency", folds, c, None)
        rows = train.cross_validate(feats, "emergency", folds, c, feats.witnesses("emergency", rows))
        oof = feats.message_scores(rows, weight)
        if inputs.border_c is not None:  # the committed head's border reader, refitted per fold too
            oof = oof * train.border_cross_validate(feats, "emergency", folds, inputs.border_c, feats.border("emergency", counted)) ** args.border_power
        oof = np.where(veto, 0.0, oof)
        ap = average_precision_score(positive[counted], oof[counted])
        print(f"{name}: average precision {ap:.3f}")
        for t in THRESHOLDS:
            fired = oof >= t
            by_round = "  ".join(f"round {r} {fired[mask].mean():.3f}" for r, mask in positive_in_round.items())
            print(f"  threshold {t:.3f}: recall {fired[counted & positive].mean():.3f} ({by_round})  hard negatives {fired[hard].mean():.3f}  golden ordinary {fired[golden].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
