"""Train the coverage check: `make coverage-model` (= python -m eval.coverage_train).

The check (app/coverage.py) is a logistic regression from a question's MiniLM vector to
"the guidance does not cover this". Training rows, *tuning* splits only:
- every real question of eval/data/questions (off-topic: coverage none);
- every golden question (off-topic: expected status not_covered), so short, plain
  questions the guidance answers are not taken for off-topic ones (without them, an
  earlier try called the golden set's questions off-topic).
Follow-ups are embedded as search embeds them (with the earlier question).

The check only adds declines to what the pipeline already does, so its threshold is
chosen on what the pipeline answers without it: the production pipeline (check off)
answers every tuning question once (needs the index: `signpost ingest`). C, the golden
rows' weight and the threshold are chosen together by 10-fold cross-validation, folds by
page (a golden question is its own page). A setting may not cost anything: real
answerable questions answered with a right-section citation, and golden status accuracy,
at least as without the check. Of those, the one that declines the most off-topic real
questions wins; ties go to the higher threshold, then the smaller C and golden weight.
If none declines more, the threshold is 1 (off). Every setting's result is kept in the
file (`tradeoff`). Deterministic on one machine: the same data, index and model give the
same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.coverage import COVERAGE_FILE

ROOT = Path(__file__).resolve().parent.parent
C_GRID = (0.5, 2.0, 8.0)
GOLDEN_WEIGHTS = (1.0, 3.0)
THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
FOLDS = 10
DECIMALS = 6


@dataclass(frozen=True)
class Row:
    group: str  # the page (real) or the golden id: folds never split one
    golden: bool
    off_topic: bool
    answerable: bool  # real: the guidance answers it at least in part
    status: str  # what the pipeline said without the check
    right: bool  # real: answered with a right-section citation; golden: status as expected
    partial: bool  # real: a partial-answer notice (counts as declined, as in the eval)
    expected: str  # golden: the expected status


def fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(X, y.astype(int), sample_weight=w)
    return model.coef_[0], float(model.intercept_[0])


def scores(rows: list[Row], p: np.ndarray, threshold: float) -> dict:
    """Real answered-right and off-topic declined, and golden status accuracy, when the
    check declines every answered question above the threshold."""
    declined = p > threshold
    real = [(r, d) for r, d in zip(rows, declined, strict=True) if not r.golden]
    golden = [(r, d) for r, d in zip(rows, declined, strict=True) if r.golden]
    answerable = [r.right and not d for r, d in real if r.answerable]
    off = [r.status != "answered" or r.partial or d for r, d in real if r.off_topic]
    status = [("not_covered" if d and r.status == "answered" else r.status) == r.expected for r, d in golden]
    return {"answered_right": round(float(np.mean(answerable)), 4), "off_topic_declined": round(float(np.mean(off)), 4), "golden_status": round(float(np.mean(status)), 4)}


def collect(services) -> tuple[list[Row], list[str]]:
    """Each tuning question, what the pipeline (check off) said, and the text search embeds."""
    from app.conversation import retrieval_query
    from eval.golden import load_golden
    from eval.real_questions import load_real_questions

    pipeline = services.pipeline
    rows, texts = [], []
    for q in load_real_questions(split="tuning"):
        a = pipeline.ask(q.question)
        cited = [c.passage.section for c in a.citations] if a.status.value == "answered" else []
        partial = any(n.kind == "partial" for n in a.notices)
        rows.append(Row(q.source, False, q.coverage == "none", bool(q.sections), a.status.value, any(s in q.sections for s in cited), partial, ""))
        texts.append(q.question)
    for g in load_golden(split="tuning"):
        a = pipeline.ask(g.question, g.history)
        rows.append(Row(g.id, True, g.expected_status == "not_covered", g.expected_status == "answered", a.status.value, a.status.value == g.expected_status, False, g.expected_status))
        texts.append(retrieval_query(g.question, g.history))
    return rows, texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.coverage_train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=COVERAGE_FILE, help=f"where to write the head (default: {COVERAGE_FILE.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    from app.offline import apply_offline_env

    apply_offline_env()
    from app.services import Services
    from app.settings import load_settings
    from ingest.errors import IndexUnavailable

    services = Services(load_settings(coverage_threshold=1.0))  # the pipeline without the check
    try:
        services.open_retriever()
    except IndexUnavailable as exc:
        print(f"{exc} (the coverage check is chosen on what the pipeline answers)", file=sys.stderr)
        return 1
    rows, texts = collect(services)
    X = services.embedder.embed(texts).astype(np.float64)
    y = np.array([r.off_topic for r in rows])
    fold = np.array([int(hashlib.sha256(r.group.encode()).hexdigest(), 16) % FOLDS for r in rows])
    n_real = sum(not r.golden for r in rows)
    print(f"{n_real} real and {len(rows) - n_real} golden tuning questions, {int(y.sum())} off-topic", file=sys.stderr)

    base = scores(rows, np.zeros(len(rows)), 1.0)
    tradeoff = []
    for C in C_GRID:
        for gw in GOLDEN_WEIGHTS:
            w = np.array([gw if r.golden else 1.0 for r in rows])
            p = np.zeros(len(rows))
            for k in range(FOLDS):
                train = fold != k
                coef, bias = fit(X[train], y[train], w[train], C)
                p[~train] = 1.0 / (1.0 + np.exp(-(X[~train] @ coef + bias)))
            for t in THRESHOLDS:
                tradeoff.append({"C": C, "golden_weight": gw, "threshold": t, **scores(rows, p, t)})
    allowed = [t for t in tradeoff if t["answered_right"] >= base["answered_right"] and t["golden_status"] >= base["golden_status"] and t["off_topic_declined"] > base["off_topic_declined"]]
    if allowed:
        best = max(allowed, key=lambda t: (t["off_topic_declined"], t["threshold"], -t["C"], -t["golden_weight"]))
    else:
        best = {"C": C_GRID[0], "golden_weight": GOLDEN_WEIGHTS[0], "threshold": 1.0, **base}
    print(f"without the check: answered right {base['answered_right']:.3f}, off-topic declined {base['off_topic_declined']:.3f}, golden status {base['golden_status']:.3f}", file=sys.stderr)
    print(f"chosen (cross-validated): C {best['C']}, golden weight {best['golden_weight']}, threshold {best['threshold']}: answered right {best['answered_right']:.3f}, off-topic declined {best['off_topic_declined']:.3f}, golden status {best['golden_status']:.3f}", file=sys.stderr)

    w = np.array([best["golden_weight"] if r.golden else 1.0 for r in rows])
    coef, bias = fit(X, y, w, best["C"])
    out = {
        "about": "Coverage check (app/coverage.py); rebuild with `make coverage-model`.",
        "embedding_model": services.embedder.model_id,
        "threshold": best["threshold"],
        "C": best["C"],
        "golden_weight": best["golden_weight"],
        "training": {"real_questions": n_real, "golden_questions": len(rows) - n_real, "off_topic": int(y.sum())},
        "without_check": base,
        "cross_validated": {k: best[k] for k in ("answered_right", "off_topic_declined", "golden_status")},
        "tradeoff": tradeoff,
        "weights": np.round(coef, DECIMALS).tolist(),
        "bias": round(bias, DECIMALS),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
