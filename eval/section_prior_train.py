"""Train the section prior: `make section-prior` (= python -m eval.section_prior_train).

The prior (index/section_prior.py) is a multinomial logistic regression from a question's
MiniLM vector to the guidance section that answers it. Training rows:
- every paragraph of the guidance in corpus/ (its vector, as indexed, and its section);
- every question of the real-question set's *tuning* split that the guidance answers
  (eval/data/questions), one row per labelled section, the question's weight shared
  between its sections. Nothing from a held-out split is read, and neither are the golden
  set's questions (written by us, in our own style: adding them lowered cross-validated
  hit@1 on real tuning questions).

C, the weight of question rows against paragraph rows, and the weight of the prior in
search are chosen together by leave-one-source-out cross-validation on the tuning
questions: for each source, the prior is fitted without that source's questions, and
search (dense + BM25 over the same chunks, as in production, plus the prior) ranks the
chunks for them. A setting must not cost the golden set's tuning questions anything:
their section hit@1 and section MRR (the prior fitted on every tuning question; the
golden questions are never trained on) must be at least what search gets without the
prior. (Without that check the best setting put a weight of 0.6 on the prior, and the
golden set's passage MRR fell by 0.05 on both splits.) Since round 6 of the real
questions (2026-11-30), the golden tuning questions' *passage* hit@3 and MRR (their
reference passages, as the eval's gate reads them) must hold too: with the section
checks alone, the best setting (weight 0.6) kept section MRR but the gate saw passage
hit@3 on golden tuning questions fall from 0.946 to 0.875. Of the settings that pass, the
one with the highest hit@1 (a passage from a right section first) wins; ties go to the
higher golden MRR, then the smaller prior weight, then the smaller C. Every setting's result is kept in the file
(`tradeoff`). Deterministic: the same data and model give the same file. The model is
the one the app is set to use (SIGNPOST_EMBEDDING_MODEL_PATH, or the packaged MiniLM).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eval.golden import load_golden
from eval.real_questions import RealQuestion, load_real_questions
from index.derived import KeywordCounts, KeywordIndex, keyword_tokens
from index.retriever import RetrievalWeights
from index.section_prior import PRIOR_FILE
from ingest.chunker import chunk_document
from ingest.loaders import discover_files, load_document
from ingest.model import Chunk

ROOT = Path(__file__).resolve().parent.parent
C_GRID = (0.5, 2.0, 8.0, 32.0)
QUESTION_WEIGHTS = (1.0, 3.0, 10.0)  # a question row's weight; a paragraph row's is 1
PRIOR_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
DECIMALS = 6


def corpus_chunks(corpus: Path) -> list[Chunk]:
    docs = sorted((load_document(p) for p in discover_files([corpus])), key=lambda d: d.doc_id)
    return [c for d in docs for c in chunk_document(d)]


class Search:
    """Dense + BM25 over the corpus's chunks, scored as HybridRetriever scores them."""

    def __init__(self, chunks: list[Chunk], chunk_vectors: np.ndarray, weights: RetrievalWeights):
        self.chunks, self.chunk_vectors, self.w = chunks, chunk_vectors, weights
        by_doc: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        parts = [(KeywordCounts.of_document(doc, [c.chunk_id for c in cs], keyword_tokens([c.embed_text for c in cs])), doc) for doc, cs in sorted(by_doc.items())]
        self.keywords = KeywordIndex.from_counts(KeywordCounts.join(parts))
        self.column = {c.chunk_id: n for n, c in enumerate(chunks)}

    def fused(self, question: str, vector: np.ndarray) -> np.ndarray:
        dense = self.chunk_vectors @ vector
        raw = np.zeros(len(self.chunks))
        for cid, s in self.keywords.search(question, len(self.chunks)).items():
            raw[self.column[cid]] = s
        return self.w.fuse(dense, self.w.bm25_bonus(raw))


def _rows(questions: list[RealQuestion], vectors: np.ndarray, sections: dict[str, int], weight: float):
    X, y, sw = [], [], []
    for q, v in zip(questions, vectors, strict=True):
        labels = [sections[s] for s in q.sections if s in sections]
        for label in labels:
            X.append(v)
            y.append(label)
            sw.append(weight / len(labels))
    return X, y, sw


def fit(chunk_rows, questions, vectors, sections, C: float, question_weight: float):
    from sklearn.linear_model import LogisticRegression

    X, y, sw = _rows(questions, vectors, sections, question_weight)
    X, y, sw = list(chunk_rows[0]) + X, list(chunk_rows[1]) + y, [1.0] * len(chunk_rows[1]) + sw
    model = LogisticRegression(C=C, max_iter=5000).fit(np.asarray(X), np.asarray(y), sample_weight=np.asarray(sw))
    weights = np.zeros((len(sections), len(X[0])))
    bias = np.full(len(sections), -30.0)  # a section with no training row: never likely
    weights[model.classes_] = model.coef_ if len(model.classes_) > 2 else np.vstack([-model.coef_, model.coef_])
    bias[model.classes_] = model.intercept_ if len(model.classes_) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
    return weights, bias


def probabilities(weights, bias, vectors):
    logits = vectors @ weights.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def hit_rate(base: np.ndarray, p: np.ndarray, chunk_section: np.ndarray, questions: list[RealQuestion], section_names: list[str], weight: float) -> list[bool]:
    scores = base + weight * p[:, chunk_section]
    return [section_names[chunk_section[row.argmax()]] in q.sections for row, q in zip(scores, questions, strict=True)]


def first_ranks(base: np.ndarray, p: np.ndarray, chunk_section: np.ndarray, wanted: list[set[int]], weight: float, label: np.ndarray) -> list[int]:
    """Per question, the rank (1-based) of the first passage whose label (its section,
    or its own index) is wanted."""
    scores = base + weight * p[:, chunk_section]
    ranks = []
    for row, right in zip(scores, wanted, strict=True):
        order = np.argsort(-row, kind="stable")
        ranks.append(next(n for n, i in enumerate(order, 1) if label[i] in right))
    return ranks


def section_ranks(base: np.ndarray, p: np.ndarray, chunk_section: np.ndarray, wanted: list[set[int]], weight: float) -> list[int]:
    """Per question, the rank (1-based) of the first passage from a wanted section."""
    return first_ranks(base, p, chunk_section, wanted, weight, chunk_section)


def rank_rates(ranks: list[int], k: int) -> tuple[float, float]:
    """(hit@k, MRR), rounded as the file keeps them."""
    return round(float(np.mean([r <= k for r in ranks])), 4), round(float(np.mean([1 / r for r in ranks])), 4)


def golden_check(ranks: list[int]) -> tuple[float, float]:
    """(section hit@1, section MRR), rounded as the file keeps them."""
    return rank_rates(ranks, 1)


def passage_check(base: np.ndarray, p: np.ndarray, chunk_section: np.ndarray, wanted: list[set[int]], weight: float) -> tuple[float, float]:
    """(passage hit@3, passage MRR) of the golden questions' reference passages, as the
    eval's gate reads them, rounded as the file keeps them."""
    return rank_rates(first_ranks(base, p, chunk_section, wanted, weight, np.arange(len(chunk_section))), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.section_prior_train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PRIOR_FILE, help=f"where to write the prior (default: {PRIOR_FILE.relative_to(ROOT)})")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the guidance folder (default: corpus/)")
    args = parser.parse_args(argv)

    from app.services import Services
    from app.settings import load_settings
    from ingest.errors import SignpostError

    try:
        embedder = Services(load_settings()).embedder  # the model the app will run with: the prior must match it
    except SignpostError as err:
        print(f"signpost: {err}", file=sys.stderr)
        return 2
    chunks = corpus_chunks(args.corpus)
    section_names = sorted({c.section for c in chunks})
    sections = {s: n for n, s in enumerate(section_names)}
    chunk_vectors = embedder.embed([c.embed_text for c in chunks])
    chunk_section = np.array([sections[c.section] for c in chunks])
    chunk_rows = (list(chunk_vectors), list(chunk_section))
    search = Search(chunks, chunk_vectors, RetrievalWeights())

    questions = [q for q in load_real_questions(split="tuning") if any(s in sections for s in q.sections)]
    vectors = embedder.embed([q.question for q in questions])
    base = np.array([search.fused(q.question, v) for q, v in zip(questions, vectors, strict=True)])
    sources = sorted({q.source for q in questions})
    print(f"{len(chunks)} paragraphs in {len(sections)} sections; {len(questions)} tuning questions from {len(sources)} sources", file=sys.stderr)

    golden = [g for g in load_golden(split="tuning") if any(s in sections for s in g.reference_sections)]
    golden_vectors = embedder.embed([g.question for g in golden])
    golden_base = np.array([search.fused(g.question, v) for g, v in zip(golden, golden_vectors, strict=True)])
    golden_wanted = [{sections[s] for s in g.reference_sections if s in sections} for g in golden]
    no_prior = np.zeros((len(golden), len(sections)))
    golden_floor = golden_check(section_ranks(golden_base, no_prior, chunk_section, golden_wanted, 0.0))
    column = {c.chunk_id: n for n, c in enumerate(chunks)}
    with_refs = [n for n, g in enumerate(golden) if any(c in column for c in g.reference_chunk_ids)]
    passage_wanted = [{column[c] for c in golden[n].reference_chunk_ids if c in column} for n in with_refs]
    passage_floor = passage_check(golden_base[with_refs], no_prior[with_refs], chunk_section, passage_wanted, 0.0)

    baseline = float(np.mean(hit_rate(base, np.zeros((len(questions), len(sections))), chunk_section, questions, section_names, 0.0)))
    tradeoff = []
    for C in C_GRID:
        for qw in QUESTION_WEIGHTS:
            p = np.zeros((len(questions), len(sections)))
            for source in sources:  # leave one source out
                train = [n for n, q in enumerate(questions) if q.source != source]
                held = [n for n, q in enumerate(questions) if q.source == source]
                w, b = fit(chunk_rows, [questions[n] for n in train], vectors[train], sections, C, qw)
                p[held] = probabilities(w, b, vectors[held])
            golden_p = probabilities(*fit(chunk_rows, questions, vectors, sections, C, qw), golden_vectors)
            for pw in PRIOR_WEIGHTS:
                hits = hit_rate(base, p, chunk_section, questions, section_names, pw)
                g_hit, g_mrr = golden_check(section_ranks(golden_base, golden_p, chunk_section, golden_wanted, pw))
                p_hit3, p_mrr = passage_check(golden_base[with_refs], golden_p[with_refs], chunk_section, passage_wanted, pw)
                tradeoff.append({"C": C, "question_weight": qw, "prior_weight": pw, "cv_hit@1": round(float(np.mean(hits)), 4), "golden_hit@1": g_hit, "golden_mrr": g_mrr, "golden_passage_hit@3": p_hit3, "golden_passage_mrr": p_mrr})
    allowed = [t for t in tradeoff if t["golden_hit@1"] >= golden_floor[0] and t["golden_mrr"] >= golden_floor[1] and t["golden_passage_hit@3"] >= passage_floor[0] and t["golden_passage_mrr"] >= passage_floor[1]]
    best = max(allowed, key=lambda t: (t["cv_hit@1"], t["golden_mrr"], -t["prior_weight"], -t["C"], -t["question_weight"]))
    print(f"golden tuning questions without the prior: section hit@1 {golden_floor[0]:.3f}, MRR {golden_floor[1]:.3f}; passage hit@3 {passage_floor[0]:.3f}, MRR {passage_floor[1]:.3f}; {len(allowed)} of {len(tradeoff)} settings keep all four", file=sys.stderr)
    print(f"hit@1 on tuning questions, leave-one-source-out: {baseline:.3f} without the prior, {best['cv_hit@1']:.3f} with it (C {best['C']}, question weight {best['question_weight']}, prior weight {best['prior_weight']}; golden hit@1 {best['golden_hit@1']:.3f}, MRR {best['golden_mrr']:.3f})", file=sys.stderr)

    weights, bias = fit(chunk_rows, questions, vectors, sections, best["C"], best["question_weight"])
    out = {
        "about": "Section prior for search (index/section_prior.py); rebuild with `make section-prior`.",
        "embedding_model": embedder.model_id,
        "sections": section_names,
        "weight": best["prior_weight"],
        "C": best["C"],
        "question_weight": best["question_weight"],
        "training": {"paragraphs": len(chunks), "tuning_questions": len(questions), "sources": len(sources)},
        "cv_hit@1": {"without_prior": round(baseline, 4), "with_prior": best["cv_hit@1"]},
        "golden_tuning_without_prior": {"hit@1": golden_floor[0], "mrr": golden_floor[1], "passage_hit@3": passage_floor[0], "passage_mrr": passage_floor[1]},
        "tradeoff": tradeoff,
        "weights": np.round(weights, DECIMALS).tolist(),
        "bias": np.round(bias, DECIMALS).tolist(),
        "chunk_section": {c.chunk_id: int(sections[c.section]) for c in chunks},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
