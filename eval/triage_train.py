"""Train the safety-triage head: `make triage-model` (= python -m eval.triage_train).

Deterministic: the same data and embedding model give the same file. Uses only the
training split of eval/data/triage/messages.jsonl (less the messages whose two blind
labelling passes disagree on the emergency notice, and their variants), the golden
set's *tuning* questions that expect no notice, and the guidance's own sentences
(which talk about danger and threats without being a cry for help) as extra
negatives. Nothing from a held-out split is read.

For each label: a logistic regression over the unit-length MiniLM vector and word
tf-idf features (app/triage.py, LexicalFeatures; vocabulary from the training texts). Training rows
are whole messages (labelled) plus the segments of messages that lack the label
(segments of a message without the label cannot have it), plus, for each positive
message, the segment that scores highest out of fold when it beats the whole message
(a multiple-instance step, kept only where it raises cross-validated average precision:
on 2026-11-29 it did for every head, e.g. 0.765 -> 0.793 for the emergency notice).
The regularisation C, how a message's score is taken from its parts (the maximum, or a
blend of the whole message and its best segment: app/triage.py, aggregate) and the
threshold are chosen by cross-validation grouped by source, on message-level scores
computed as at answer time: the threshold is the highest one whose out-of-fold recall,
together with the precise rules in app/triage.yaml, reaches the label's target. The
emergency head also gets a border reader (BORDER_HEADS), whose score multiplies the
head's; the threshold is chosen on that product.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

from app.triage import HEAD_FILE, HEADS, TRAINED_SEGMENTS, LexicalFeatures, SafetyRules, aggregate, has_head, segments
from eval.triage_data import MESSAGES_FILE, TriageItem, load_messages

# Out-of-fold recall each threshold must reach. The notices' own targets sit a little
# above the held-out targets (0.95 for the emergency notice, 0.9 for the others),
# which are measured, not tuned. immediate_danger and threat are descriptive labels:
# the emergency head (trained last, on what they and the rules leave) carries the
# notice's recall, so their own thresholds can stay precise.
# child_at_risk was 0.92 until session 20. Page folds flatter a head on new sources: at
# the 0.92 threshold (0.055) folds by collection round (eval.triage_round_cv's folds,
# training split) read 0.909. 0.93 on page folds (threshold 0.051) is 0.924 across
# rounds, the training aim, for 0.6 points more Childline lines on hard negatives (0.390
# to 0.396; golden ordinary questions unchanged at 0.079). docs/results.md, "Safety triage".
RECALL_TARGETS = {"immediate_danger": 0.8, "threat": 0.8, "child_at_risk": 0.93, "self_harm": 0.92, "emergency": 0.96}
# Noise ceilings: at most this share of the golden set's ordinary (tuning) questions
# may fire a head. Where the recall target needs a lower threshold, the ceiling wins:
# a notice on one plain question in five teaches people to ignore it. The emergency
# notice gets the loosest ceiling because a miss there costs most (the trade-off table
# for each head is in the head file, `tradeoff`). Measured out of fold (the golden
# questions are one CV group), so the thresholds are not fitted to them.
# The emergency ceiling was 0.10 with round 1's data. With round 2 added, the training
# split's trade-off (cross-validated, after the plain-question veto) was: ceiling 0.05 ->
# recall 0.946, hard negatives firing 0.57; 0.10 -> recall 0.959, hard negatives 0.68.
# Eleven points of noise for 1.3 of recall, on a page that shows the 999 line anyway:
# 0.05 it is.
# The child_at_risk ceiling was 0.05 until 2026-11-30. It held the head's threshold
# above its recall target: cross-validated recall 0.868 against 0.92 (and 0.868 on round
# 4's blind messages). The issue caps false *emergency* notices only; a Childline line
# on an ordinary question costs little, and at 0.10 the target sets the threshold.
# The emergency ceiling was 0.05 until round 6 (eval/data/triage/README.md "Round 6") joined the training
# split: then 0.05 held cross-validated recall to 0.934, under the 0.96 aim (0.065 gave
# 0.951). At 0.08 the recall target sets the threshold: recall 0.962, hard negatives
# 0.487, golden ordinary 0.095 (with the maximum instead of the blend, 0.964, 0.537 and
# 0.079). Recall first.
GOLDEN_CEILINGS = {"immediate_danger": 0.03, "threat": 0.03, "child_at_risk": 0.1, "self_harm": 0.05, "emergency": 0.08}
C_GRID = (1.0, 4.0, 16.0)
# How a message's score comes from its parts: None is the maximum over the message and
# its segments, a number the whole message's share in a blend with its best segment
# (app/triage.py, aggregate). Chosen per head by cross-validated average precision.
# On 2026-11-30 (training split with round 6): the emergency head's AP 0.786 (max) ->
# 0.806 (0.3), threat 0.750 -> 0.770, immediate_danger best at 0.5; child_at_risk and
# self_harm are best with the maximum.
WHOLE_WEIGHTS = (None, 0.3, 0.5)
# The emergency head's second reader (app/triage.py, TriageHead.border): a logistic
# regression over the whole message alone, trained only on the triage messages that
# need the 999 notice and those with no label at all, i.e. on the border the noise
# sits on. The notice's score is the head's score times this one's. Its C is chosen by
# cross-validated average precision, and it is kept only where that improves.
BORDER_C_GRID = (0.25, 1.0, 4.0)
BORDER_HEADS = ("emergency",)
FOLDS = 5
DECIMALS = 6


def extra_negatives() -> list[TriageItem]:
    from eval.golden import load_golden

    golden = [g for g in load_golden(split="tuning") if not g.expected_notices]
    items = [TriageItem(f"golden:{g.id}", "train", "golden", g.question, frozenset(), "golden-tuning") for g in golden]
    guidance = Path(__file__).resolve().parent.parent / "corpus" / "stalking-and-harassment-guidance.md"
    body = guidance.read_text(encoding="utf-8").split("---", 2)[-1]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", body) if len(s.split()) >= 5 and not s.startswith("#")]
    items += [TriageItem(f"guidance:{n}", "train", "guidance", s.lstrip("> "), frozenset(), "guidance") for n, s in enumerate(sentences)]
    return items


def fold_of(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % FOLDS


class Features:
    """Vectors of every message and of its segments, embedded once."""

    def __init__(self, items: list[TriageItem], embedder):
        self.items = items
        texts, owner = [], []
        for n, item in enumerate(items):
            texts.append(item.text)
            owner.append((n, True))
            for seg in segments(item.text)[:TRAINED_SEGMENTS]:
                texts.append(seg)
                owner.append((n, False))
        self.texts = texts
        self.lexical = LexicalFeatures.fit(texts)
        # Sparse: the tf-idf part is mostly zeros, and the fits run twice as fast on it.
        from scipy import sparse

        vectors = embedder.embed(texts, progress=sys.stderr.isatty())
        self.vectors = sparse.hstack([sparse.csr_matrix(vectors), sparse.csr_matrix(self.lexical.transform(texts))]).tocsr()
        self.dim = int(embedder.dimension)
        self.owner = np.array([o for o, _ in owner])
        self.whole = np.array([w for _, w in owner])
        self.unlabelled = np.array([not i.labels for i in items])  # per message: no label at all
        self._positive: dict[str, np.ndarray] = {}

    def positive(self, label: str) -> np.ndarray:
        """Per message: whether it is a positive for `label`'s head."""
        if label not in self._positive:
            self._positive[label] = np.array([has_head(i.labels, label) for i in self.items])
        return self._positive[label]

    def rows(self, label: str, keep: np.ndarray, witnesses: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Training rows for `label` from the messages where keep[n] is True: whole
        messages, the segments of messages without the label, and the `witnesses`
        (row indices: the segment that carries a positive message's label)."""
        has = self.positive(label)
        extra = np.zeros(len(self.texts), dtype=bool)
        if witnesses is not None:
            extra[witnesses] = True
        use = keep[self.owner] & (self.whole | ~has[self.owner] | extra)
        y = has[self.owner] & (self.whole | extra)
        return self.vectors[use], y[use].astype(int)

    def row_scores(self, model) -> np.ndarray:
        return model.predict_proba(self.vectors)[:, 1]

    def message_scores(self, row_scores: np.ndarray, whole_weight: float | None = None) -> np.ndarray:
        """Each message's score from its rows' scores, as at answer time (aggregate)."""
        if whole_weight is None:
            out = np.zeros(len(self.items))
            np.maximum.at(out, self.owner, row_scores)
            return out
        parts: list[list[float]] = [[] for _ in self.items]
        for row in np.argsort(~self.whole, kind="stable"):  # each message's whole row first
            parts[self.owner[row]].append(row_scores[row])
        return np.array([aggregate(np.array(p), whole_weight) for p in parts])

    def whole_rows(self):
        """One feature row per message, in item order: the whole message's."""
        return self.vectors[np.flatnonzero(self.whole)]

    def border(self, label: str, counted: np.ndarray) -> np.ndarray:
        """Per message: whether it trains `label`'s border reader (a counted message
        that needs the notice, or has no label at all)."""
        return counted & (self.positive(label) | self.unlabelled)

    def witnesses(self, label: str, row_scores: np.ndarray) -> np.ndarray:
        """For each positive message, its highest-scoring segment, where that segment
        scores above the whole message."""
        has = self.positive(label)
        best: dict[int, int] = {}
        for row in np.flatnonzero(has[self.owner]):
            n = int(self.owner[row])
            if n not in best or row_scores[row] > row_scores[best[n]]:
                best[n] = int(row)
        return np.array(sorted(r for r in best.values() if not self.whole[r]), dtype=int)


def make_model(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000)


def _threshold(scores: np.ndarray, positive: np.ndarray, target: float, already: int = 0, lost: int = 0) -> float:
    """The highest threshold at which `already` rule-caught positives plus the
    `positive` ones scoring at or above it reach `target` recall (`lost` positives
    can never be caught)."""
    pos = np.sort(scores[positive])[::-1]
    need = int(np.ceil(target * (len(pos) + already + lost))) - already
    return float(pos[min(max(need, 1), len(pos)) - 1]) if len(pos) else 0.5


def _ceiling_threshold(scores: np.ndarray, ceiling: float) -> float:
    """The lowest threshold at which at most `ceiling` of these (negative) scores fire."""
    allowed = int(np.floor(ceiling * len(scores)))
    ranked = np.sort(scores)[::-1]
    return float(np.nextafter(ranked[allowed], 1.0)) if allowed < len(ranked) else 0.0


def cross_validate(feats: Features, label: str, folds: np.ndarray, c: float, witnesses: np.ndarray | None, trainable: np.ndarray | None = None) -> np.ndarray:
    """Row scores, out of fold: each fold's rows scored by a model trained on the other
    folds' messages (only those `trainable`, when given)."""
    row_folds = folds[feats.owner]
    rows = np.zeros(len(feats.texts))
    for k in np.unique(folds):
        x, y = feats.rows(label, (folds != k) if trainable is None else (folds != k) & trainable, witnesses)
        rows[row_folds == k] = feats.row_scores(make_model(c).fit(x, y))[row_folds == k]
    return rows


def border_cross_validate(feats: Features, label: str, folds: np.ndarray, c: float, pool: np.ndarray) -> np.ndarray:
    """Per message, out of fold: the border reader's score, each fold's messages scored
    by a model trained on the other folds' `pool` messages (whole messages only)."""
    x, y = feats.whole_rows(), feats.positive(label).astype(int)
    out = np.zeros(len(feats.items))
    for k in np.unique(folds):
        train_on = pool & (folds != k)
        out[folds == k] = make_model(c).fit(x[train_on], y[train_on]).predict_proba(x[folds == k])[:, 1]
    return out


def _best_aggregate(feats: Features, label: str, counted: np.ndarray, rows: np.ndarray) -> tuple[float, float | None, np.ndarray]:
    """The average precision (on the `counted` messages), whole weight and message
    scores of the aggregate that ranks these out-of-fold rows best."""
    from sklearn.metrics import average_precision_score

    positive = feats.positive(label)
    best = None
    for weight in WHOLE_WEIGHTS:
        oof = feats.message_scores(rows, weight)
        ap = float(average_precision_score(positive[counted], oof[counted]))
        if best is None or ap > best[0] + 1e-9:
            best = (ap, weight, oof)
    return best


def train(embedder, data_file: Path = MESSAGES_FILE, c_grid: dict[str, tuple[float, ...]] | None = None, border_c_grid: dict[str, tuple[float, ...]] | None = None) -> dict:
    """The head file's contents. `c_grid` and `border_c_grid` narrow the regularisation
    values tried per head and per border reader (the test that checks the committed head
    rebuilds passes the chosen ones)."""
    # Disputed messages are left out: two careful readings of the same guideline
    # disagree on whether they need the 999 notice, and training on either reading
    # teaches the boundary noise. Cross-validated on the training split (2026-11-30,
    # eval/data/triage/README.md): emergency AP 0.793 -> 0.802, and hard negatives
    # firing at the recall target 0.545 -> 0.491; taking the union of the two passes'
    # labels instead gave 0.799 and 0.516, dropping every disagreement 0.786 and 0.487.
    everything = load_messages(data_file, split="train")
    messages = [m for m in everything if not m.disputed]
    items = messages + extra_negatives()
    feats = Features(items, embedder)
    folds = np.array([fold_of(i.group) for i in items])
    counted = np.array([i.origin in ("real", "variant", "team") for i in items])  # CV metrics on the triage data only
    golden = np.array([i.origin == "golden" for i in items])
    hard = counted & feats.unlabelled
    heads, report = {}, {}
    rules = SafetyRules()
    veto = np.array([rules.vetoes(i.text) for i in items])
    rule_labels = [rules.labels(i.text) for i in items]  # once, not once per head
    caught: dict[str, np.ndarray] = {}  # head -> messages its rules or threshold fire on (out of fold)
    for label in HEADS:
        positive = feats.positive(label)
        best = None
        for c in (c_grid or {}).get(label, C_GRID):
            rows = cross_validate(feats, label, folds, c, None)
            ap, weight, oof = _best_aggregate(feats, label, counted, rows)
            if best is None or ap > best[0] + 1e-9:
                best = (ap, c, weight, oof, rows)
        ap, c, weight, oof, rows = best
        # Multiple-instance step: a long message is labelled as a whole, but its danger
        # sits in one sentence. Each positive message's best-scoring segment (out of
        # fold) is added as a positive row, and kept if cross-validation improves.
        witnesses = feats.witnesses(label, rows)
        mil_ap, mil_weight, mil_oof = _best_aggregate(feats, label, counted, cross_validate(feats, label, folds, c, witnesses))
        if mil_ap > ap + 1e-9:
            ap, weight, oof = mil_ap, mil_weight, mil_oof
        else:
            witnesses = None
        border = None  # (C, pool) of the border reader, where it is kept
        if label in BORDER_HEADS:
            from sklearn.metrics import average_precision_score

            pool, alone = feats.border(label, counted), oof
            for bc in (border_c_grid or {}).get(label, BORDER_C_GRID):
                product = alone * border_cross_validate(feats, label, folds, bc, pool)
                border_ap = float(average_precision_score(positive[counted], product[counted]))
                if border_ap > ap + 1e-9:
                    ap, oof, border = border_ap, product, (bc, pool)
        if label == "emergency":  # what the danger and threat labels already catch
            ruled = caught["immediate_danger"] | caught["threat"]
        else:
            ruled = np.array([label in found for found in rule_labels])
        live = ~veto
        threshold = _threshold(
            oof[counted],
            (positive & ~ruled & live)[counted],
            RECALL_TARGETS[label],
            already=int((positive & ruled & live & counted).sum()),
            lost=int((positive & veto & counted).sum()),
        )
        tradeoff = []
        live_oof = np.where(live, oof, 0.0)  # a vetoed question never fires, whatever its score
        for ceiling in (0.03, 0.05, 0.1, 0.2):
            t = _ceiling_threshold(live_oof[golden], ceiling)
            f = ((oof >= t) | ruled) & live
            tradeoff.append({"golden_ceiling": ceiling, "threshold": round(t, 4), "cv_recall": round(float(f[counted & positive].mean()), 4), "cv_false_alarm_rate_hard_negatives": round(float(f[hard].mean()), 4)})
        threshold = max(threshold, _ceiling_threshold(live_oof[golden], GOLDEN_CEILINGS[label]))
        fired = caught[label] = ((oof >= threshold) | ruled) & live
        negatives = counted & ~positive
        report[label] = {
            "C": c,
            "whole_weight": weight,
            "cv_average_precision": round(float(ap), 4),
            "cv_recall": round(float(fired[counted & positive].mean()), 4),
            "cv_false_alarm_rate": round(float(fired[negatives].mean()), 4),
            "cv_false_alarm_rate_golden_ordinary": round(float(fired[golden].mean()), 4),
            "cv_false_alarm_rate_hard_negatives": round(float(fired[hard].mean()), 4),
            "positives": int((counted & positive).sum()),
            "segment_witnesses": 0 if witnesses is None else len(witnesses),
            "border_C": None if border is None else border[0],
            "border_messages": 0 if border is None else int(border[1].sum()),
            "tradeoff": tradeoff,
        }
        x, y = feats.rows(label, np.ones(len(items), dtype=bool), witnesses)
        model = make_model(c).fit(x, y)
        heads[label] = {
            "weights": [round(float(w), DECIMALS) for w in model.coef_[0]],
            "bias": round(float(model.intercept_[0]), DECIMALS),
            "threshold": round(threshold, DECIMALS),
            "whole_weight": weight,
        }
        if border is not None:
            reader = make_model(border[0]).fit(feats.whole_rows()[border[1]], positive[border[1]].astype(int))
            heads[label]["border"] = {"weights": [round(float(w), DECIMALS) for w in reader.coef_[0]], "bias": round(float(reader.intercept_[0]), DECIMALS)}
        if label != "emergency":
            hits = np.array([label in found for found in rule_labels])
            report[label]["rule_catches_beyond_head"] = int((hits & counted & positive & (oof < threshold)).sum())
            report[label]["rule_false_alarms"] = int((hits & counted & ~positive).sum())
    labelled = counted & ~feats.unlabelled
    veto_check = {
        "labelled_messages_vetoed": int((veto & labelled).sum()),
        "unlabelled_messages_vetoed": int((veto & counted & ~labelled).sum()),
        "unlabelled_messages": int((counted & ~labelled).sum()),
        "golden_ordinary_vetoed": int((veto & golden).sum()),
        "golden_ordinary": int(golden.sum()),
    }
    return {
        "format": "signpost-triage-head/1",
        "veto_check": veto_check,
        "labels": list(HEADS),
        "embedding_model": embedder.model_id,
        "embedding_dim": feats.dim,
        "training_data_sha256": hashlib.sha256(data_file.read_bytes()).hexdigest(),
        "training_messages": len(messages),
        "disputed_left_out": len(everything) - len(messages),
        "extra_negatives": len(items) - len(messages),
        "recall_targets": RECALL_TARGETS,
        "golden_ceilings": GOLDEN_CEILINGS,
        "cross_validation": report,
        "built_by": "make triage-model (python -m eval.triage_train)",
        "heads": heads,
        "lexical": {"terms": list(feats.lexical.vocabulary), "idf": [round(float(v), DECIMALS) for v in feats.lexical.idf]},
    }


def dump_head(head: dict) -> str:
    """JSON with one line per long list, so the file reads and diffs sensibly."""
    short = {k: v for k, v in head.items() if k not in ("heads", "lexical")}
    lines = json.dumps(short, indent=1)[:-2].splitlines()
    lines[-1] += ","
    lines.append(' "heads": {')
    for n, (label, h) in enumerate(head["heads"].items()):
        end = "," if n < len(head["heads"]) - 1 else ""
        border = f', "border": {{"bias": {json.dumps(h["border"]["bias"])}, "weights": {json.dumps(h["border"]["weights"])}}}' if "border" in h else ""
        lines.append(f'  "{label}": {{"bias": {json.dumps(h["bias"])}, "threshold": {json.dumps(h["threshold"])}, "whole_weight": {json.dumps(h["whole_weight"])}, "weights": {json.dumps(h["weights"])}{border}}}{end}')
    lines.append(" },")
    lines.append(f' "lexical": {{"terms": {json.dumps(head["lexical"]["terms"], ensure_ascii=False)}, "idf": {json.dumps(head["lexical"]["idf"])}}}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.triage_train", description="Train the safety-triage head from the training split, for the embedding model the app is set to use (SIGNPOST_EMBEDDING_MODEL_PATH, or the packaged MiniLM).")
    parser.add_argument("--data", type=Path, default=MESSAGES_FILE, help="triage messages (default: eval/data/triage/messages.jsonl)")
    parser.add_argument("--out", type=Path, default=HEAD_FILE, help="where to write the head (default: app/models/triage_head.json)")
    args = parser.parse_args(argv)
    from app.offline import apply_offline_env

    apply_offline_env()
    from app.services import Services
    from app.settings import load_settings
    from ingest.errors import SignpostError

    try:
        # the model the app will run with (SIGNPOST_EMBEDDING_MODEL_PATH), as the head must match it
        head = train(Services(load_settings()).embedder, args.data)
    except SignpostError as err:
        print(f"signpost: {err}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump_head(head), encoding="utf-8")
    print(f"wrote {args.out}: {head['training_messages']} training messages ({head['disputed_left_out']} disputed left out) + {head['extra_negatives']} extra negatives")
    v = head["veto_check"]
    print(
        f"veto (questions about the law, plain questions, short asked questions): {v['labelled_messages_vetoed']} labelled messages, "
        f"{v['unlabelled_messages_vetoed']} of {v['unlabelled_messages']} unlabelled, {v['golden_ordinary_vetoed']} of {v['golden_ordinary']} golden ordinary questions"
    )
    for label, r in head["cross_validation"].items():
        print(
            f"{label:17s} C={r['C']:<4} {'max' if r['whole_weight'] is None else 'blend ' + str(r['whole_weight']):9s} threshold={head['heads'][label]['threshold']:.3f}  cv recall {r['cv_recall']:.3f}  "
            f"cv false alarms {r['cv_false_alarm_rate']:.3f} (golden ordinary {r['cv_false_alarm_rate_golden_ordinary']:.3f})  "
            f"hard negatives {r['cv_false_alarm_rate_hard_negatives']:.3f}  AP {r['cv_average_precision']:.3f}"
            + (f"  rules: +{r['rule_catches_beyond_head']} beyond the head, {r['rule_false_alarms']} false" if "rule_false_alarms" in r else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
