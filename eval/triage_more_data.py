"""Would the later collection rounds help as training data? `python -m eval.triage_more_data`.

Rounds 4, 5, 7, 8 and 10 are held-out whole: each was measured blind, and rounds 8 and
10, collected to train on, did not help when added to the training split's own
cross-validation. This asks the question the other way: with folds by collection round
over the training split *and* those rounds (round 1, round 2, rounds 3 and 6, round 4,
round 8, round 10, rounds 5 and 7), how does the emergency head (the committed C and
blend, without the segment step or the border reader) do on each round when
trained on the training split's other rounds only, against trained on every other
round? It reads those rounds' labels, so it is for deciding what to train on, and its
numbers are not held-out figures. It never reads rounds 9, 11, 12 and 13, nor the
held-out halves of rounds 1 to 3, which stay the blind measure. Prints numbers, asserts
nothing (session 16, docs/results.md "Safety triage").
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

LATER_ROUNDS = {4, 5, 7, 8, 10}
ROUND_FOLDS = {1: 0, 2: 1, 3: 2, 6: 2, 4: 3, 8: 4, 10: 5, 5: 6, 7: 6}
FOLD_NAMES = ("round 1", "round 2", "rounds 3+6", "round 4", "round 8", "round 10", "rounds 5+7")
OTHER_FOLDS = 2  # team, golden and guidance rows: two more folds by page
THRESHOLD = 0.07  # about the committed emergency threshold


def _hard_negatives_at_recall(scores: np.ndarray, positive: np.ndarray, hard: np.ndarray, target: float) -> float:
    ranked = np.sort(scores[positive])[::-1]
    threshold = ranked[max(int(np.ceil(target * len(ranked))) - 1, 0)]
    return float((scores[hard] >= threshold).mean())


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m eval.triage_more_data", description=__doc__.split("\n\n")[0]).parse_args(argv)
    from app.offline import apply_offline_env

    apply_offline_env()
    from sklearn.metrics import average_precision_score

    from eval import triage_train as train
    from eval.triage_round_cv import emergency_inputs
    from ingest.errors import SignpostError

    try:  # a missing or mismatched head, or bad data, is one line, as in `make triage-model`
        inputs = emergency_inputs(lambda m: m.split == "train" or m.round in LATER_ROUNDS)
    except SignpostError as err:
        print(f"signpost: {err}", file=sys.stderr)
        return 2
    items, c, weight = inputs.items, inputs.c, inputs.whole_weight
    feats = train.Features(items, inputs.embedder)
    collected = np.array([i.origin in ("real", "variant") for i in items])
    folds = np.array([ROUND_FOLDS[i.round] if i.origin in ("real", "variant") else len(FOLD_NAMES) + train.fold_of(i.group) % OTHER_FOLDS for i in items])
    later = collected & np.array([i.round in LATER_ROUNDS for i in items])
    positive = feats.positive("emergency")
    hard = collected & feats.unlabelled

    print(f"emergency head: C {c}, whole weight {weight}; {len(items)} messages, {int(later.sum())} from rounds {sorted(LATER_ROUNDS)}")
    for name, trainable in (("the training split's other rounds", ~later), ("every other round", None)):
        rows = train.cross_validate(feats, "emergency", folds, c, None, trainable)
        s = np.where(inputs.veto, 0.0, feats.message_scores(rows, weight))
        print(f"trained on {name}:")
        aps = []
        for k, fold_name in enumerate(FOLD_NAMES):
            mask = collected & (folds == k)
            ap = average_precision_score(positive[mask], s[mask])
            aps.append(ap)
            print(
                f"  {fold_name:11s} {int(mask.sum()):4d} messages, {int((mask & positive).sum()):3d} positive: AP {ap:.3f}; at {THRESHOLD}: recall {(s[mask & positive] >= THRESHOLD).mean():.3f}, "
                f"hard negatives {(s[mask & hard] >= THRESHOLD).mean():.3f}; hard negatives at 90% recall {_hard_negatives_at_recall(s, mask & positive, mask & hard, 0.9):.3f}"
            )
        print(f"  mean AP over the rounds {np.mean(aps):.3f}; golden ordinary questions at {THRESHOLD}: {(s[[i.origin == 'golden' for i in items]] >= THRESHOLD).mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
