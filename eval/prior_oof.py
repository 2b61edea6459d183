"""Out-of-fold answers for the real tuning questions: `python -m eval.prior_oof`.

The section prior trains on the real-question tuning split, so `signpost eval`'s tuning
numbers are in-sample for it. This runs each tuning question through the production
pipeline with a prior refitted without that question's page (same C and question weight
as the committed prior), and prints the answer metrics `signpost eval` prints, out of
fold. Needs the index (`signpost ingest`). Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m eval.prior_oof", description=__doc__.split("\n\n")[0]).parse_args(argv)
    from app.offline import apply_offline_env

    apply_offline_env()
    from app.services import Services
    from app.settings import Settings
    from eval import section_prior_train as train
    from eval.real_questions import evaluate_real_questions, load_real_questions

    services = Services(Settings())
    retriever, embedder = services.retriever, services.embedder
    committed = retriever.prior
    if committed is None:
        raise SystemExit("the section prior is off (SIGNPOST_SECTION_PRIOR_WEIGHT=0): nothing to cross-validate")
    chunks = train.corpus_chunks(services.settings.corpus_dir)
    sections = {name: n for n, name in enumerate(committed.sections)}
    chunk_rows = (list(embedder.embed([c.embed_text for c in chunks])), [sections[c.section] for c in chunks])
    items = load_real_questions(split="tuning")
    answerable = [q for q in items if any(s in sections for s in q.sections)]
    vectors = embedder.embed([q.question for q in answerable])
    C, weight = committed.info["C"], committed.info["question_weight"]

    answers = {}
    pipeline = services.pipeline
    for source in sorted({q.source for q in items}):
        keep = [n for n, q in enumerate(answerable) if q.source != source]
        w, b = train.fit(chunk_rows, [answerable[n] for n in keep], vectors[keep], sections, C, weight)
        retriever.prior = dataclasses.replace(committed, weights=w.astype(np.float32), bias=b.astype(np.float32))
        for q in items:
            if q.source == source:
                answers[q.id] = pipeline.ask(q.question)
    retriever.prior = committed

    by_text = {q.question: answers[q.id] for q in items}

    class Replay:  # evaluate_real_questions asks the pipeline; give it the out-of-fold answers
        def ask(self, question, history=None):
            return by_text[question]

    metrics = evaluate_real_questions(Replay(), retriever, items)["by_split"]["tuning"]
    for key in ("lead_section_accuracy", "answered_right_section_rate", "off_topic_declined_rate", "pronoun_leads"):
        print(f"{key:32s} {metrics[key]:.3f}" if isinstance(metrics[key], float) else f"{key:32s} {metrics[key]}")
    print(json.dumps({"out_of_fold_tuning": {k: metrics[k] for k in ("n", "n_answerable", "n_off_topic", "lead_section_accuracy", "answered_right_section_rate", "off_topic_declined_rate")}}))
    print("(search rows for the tuning split are in-sample here; the prior's cross-validated hit@1 is in app/models/section_prior.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
