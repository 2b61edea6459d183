"""Answer latency benchmark: prints numbers, asserts nothing.

    python -m eval.bench [--rounds N]

Measures, warm and in one process: one query embedding (the floor), retrieval, and
the whole answer, over the guidance's own questions plus sample questions; prints
p50/p95, the retrieval share of an answer, and the ratio answer p50 / embedding p50
(goal: 2 or less).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

SAMPLE_QUESTIONS = [
    "my ex keeps turning up at my work",
    "he won't stop texting me, is that harassment?",
    "what happens after I report stalking to the police?",
    "can the court give me an order the same day",
    "where can I stay if I have to leave home quickly",
    "could I get a criminal record if I'm accused",
    "can an order protect my kids too",
    "does it count if it's my neighbour",
    "What counts as a threat?",
    "My landlord wants to evict me",
    "He's outside my house right now",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the question list (default 5)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    from app.offline import apply_offline_env

    apply_offline_env()
    from app.services import Services
    from app.settings import load_settings

    services = Services(load_settings())
    pipeline = services.pipeline
    pipeline.warm()
    questions = [q for _, q in services.retriever.manifest.questions()] + SAMPLE_QUESTIONS
    for q in questions:  # warm every path once
        pipeline.ask(q)

    from app.triage import segments

    triage = pipeline.triage
    embed, retrieve, answer, triage_ms, triage_embed_ms = [], [], [], [], []
    for _ in range(args.rounds):
        for q in questions:
            t0 = time.perf_counter()
            services.embedder.embed([q, *segments(q)])
            triage_embed_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            triage.assess(q)
            triage_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            services.embedder.embed_one(q)
            embed.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            services.retriever.retrieve(q)
            retrieve.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            pipeline.ask(q)
            answer.append((time.perf_counter() - t0) * 1000)

    # A story at the question limit (real questions run to 1,600 characters; the limit
    # is 3,000): triage reads every part of it, so its cost grows with the length.
    story = " ".join(
        ["My ex and I split up two years ago and he still sends me messages most weeks.", "He has turned up at my work and at my mum's flat, and I am scared to go out."] * 40
    )[: services.settings.max_question_chars - 40] + " What can I do to make him stop?"
    long_triage, long_answer = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        triage.assess(story)
        long_triage.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        pipeline.ask(story)
        long_answer.append((time.perf_counter() - t0) * 1000)

    result = {
        "questions": len(questions),
        "samples": len(answer),
        "embed_p50_ms": statistics.median(embed),
        "retrieve_p50_ms": statistics.median(retrieve),
        "answer_p50_ms": statistics.median(answer),
        "answer_p95_ms": percentile(answer, 0.95),
        "retrieval_share_of_answer": statistics.median(retrieve) / statistics.median(answer),
        "ratio_answer_to_embedding_p50": statistics.median(answer) / statistics.median(embed),
        "triage_p50_ms": statistics.median(triage_ms),
        "triage_embedding_p50_ms": statistics.median(triage_embed_ms),
        "triage_beyond_embedding_p50_ms": statistics.median(t - e for t, e in zip(triage_ms, triage_embed_ms, strict=True)),
        "long_question_chars": len(story),
        "long_question_segments": len(segments(story)),
        "long_question_triage_p50_ms": statistics.median(long_triage),
        "long_question_answer_p50_ms": statistics.median(long_answer),
    }
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
        return 0
    print(f"questions: {result['questions']} x {args.rounds} rounds = {result['samples']} answers (warm, one process)")
    print(f"one query embedding   p50 {result['embed_p50_ms']:8.2f} ms   (baseline)")
    print(f"retrieval (hybrid)    p50 {result['retrieve_p50_ms']:8.2f} ms")
    print(f"whole answer          p50 {result['answer_p50_ms']:8.2f} ms   p95 {result['answer_p95_ms']:.2f} ms")
    print(f"retrieval share of an answer (p50/p50): {result['retrieval_share_of_answer']:.2f}")
    print(f"ratio answer p50 / embedding p50: {result['ratio_answer_to_embedding_p50']:.2f}  (goal <= 2)")
    print(
        f"safety triage         p50 {result['triage_p50_ms']:8.2f} ms   of which embedding the message and its segments "
        f"{result['triage_embedding_p50_ms']:.2f} ms; beyond the embedding {result['triage_beyond_embedding_p50_ms']:.3f} ms (goal <= 1)"
    )
    print(
        f"a {result['long_question_chars']:,}-character question ({result['long_question_segments']} parts for triage): "
        f"triage p50 {result['long_question_triage_p50_ms']:.1f} ms, whole answer p50 {result['long_question_answer_p50_ms']:.1f} ms "
        f"({result['long_question_answer_p50_ms'] / result['answer_p50_ms']:.1f} x a sample question's)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
