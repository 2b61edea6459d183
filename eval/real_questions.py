"""Real questions people asked online (eval/data/questions): does the answer come from
the right section, and are off-topic questions declined?

Per split (tuning, held_out), per split on the questions whose two blind labelling
passes agree on whether the guidance answers them (tuning_agreed, held_out_agreed), and
on each round from 4 on alone (held_out_round4, held_out_round7, held_out_round8:
measured blind, all held-out; tuning_round5, tuning_round6: collected to tune on, all
tuning):
- section_hit@1 for dense only, BM25 only, the hybrid without the section prior, and the
  production hybrid (search alone);
- lead_section_accuracy: the answer's first citation is from a right section (questions
  the guidance answers at least in part; an unanswered one counts as a miss);
- answered_right_section_rate: answered with at least one citation from a right section;
- off_topic_declined_rate: questions the guidance does not cover that got "not covered"
  or a partial-answer notice (not a refusal for length: that is no judgement);
- pronoun_leads: answers whose first word points back at nothing ("They", "These", ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.answer import Answer, Status
from eval.behaviour import pronoun_lead, rate
from eval.intervals import grouped_interval, paired_difference_interval
from ingest.errors import ConfigError
from ingest.jsonl import read_lines

REAL_QUESTIONS_FILE = Path(__file__).parent / "data" / "questions" / "real_questions.jsonl"
SPLITS = ("tuning", "held_out")


@dataclass(frozen=True)
class RealQuestion:
    id: str
    split: str
    question: str
    sections: tuple[str, ...]
    coverage: str  # full | partial | none
    jurisdiction: str
    speaker: str
    source: str
    disputed: bool = False  # a blind second labelling disagrees on whether it is off-topic
    round: int = 1  # collection round; rounds 4, 7 and 8 are held-out whole (measured blind, README)


def load_real_questions(path: Path = REAL_QUESTIONS_FILE, split: str = "all") -> list[RealQuestion]:
    items = []
    for number, d in read_lines(path, "the real-question set"):
        try:
            item = RealQuestion(d["id"], d["split"], d["question"], tuple(d["sections"]), d["coverage"], d.get("jurisdiction", ""), d.get("speaker", ""), d["source"], bool(d.get("disputed")), int(d.get("round") or 1))
        except (KeyError, TypeError):
            raise ConfigError(f"{path}:{number}: not a real question (id, split, question, sections, coverage, source)") from None
        if item.split not in SPLITS or item.coverage not in ("full", "partial", "none"):
            raise ConfigError(f"{path}:{number}: split must be tuning or held_out and coverage full, partial or none")
        if split in ("all", item.split):
            items.append(item)
    return items


def _flags(items: list[RealQuestion], answers: list[Answer], searches: dict[str, list[list[str]]]) -> dict[str, tuple[list[int], list[bool]]]:
    """Per rated figure: the questions it rates, and whether each got it right."""
    answerable = [n for n, i in enumerate(items) if i.sections]
    off_topic = [n for n, i in enumerate(items) if i.coverage == "none"]
    out = {f"section_hit@1_{name}": (answerable, [bool(ranked[n]) and ranked[n][0] in items[n].sections for n in answerable]) for name, ranked in searches.items()}
    cited = [[c.passage.section for c in a.citations] if a.status is Status.ANSWERED else [] for a in answers]
    out["lead_section_accuracy"] = (answerable, [bool(cited[n]) and cited[n][0] in items[n].sections for n in answerable])
    out["answered_right_section_rate"] = (answerable, [any(s in items[n].sections for s in cited[n]) for n in answerable])
    # Declined means the guidance's own "not covered" (or a partial-answer notice): a
    # question refused for its length, or lost to an error, was not judged at all.
    out["off_topic_declined_rate"] = (off_topic, [answers[n].status is Status.NOT_COVERED or any(x.kind == "partial" for x in answers[n].notices) for n in off_topic])
    return out


def real_question_metrics(items: list[RealQuestion], answers: list[Answer], searches: dict[str, list[list[str]]]) -> dict:
    """`searches`: retriever name -> per item, the sections of its ranked passages."""
    flags = _flags(items, answers, searches)
    out: dict = {"n": len(items), "n_answerable": sum(1 for i in items if i.sections), "n_off_topic": sum(1 for i in items if i.coverage == "none")}
    out.update({name: rate(hits) for name, (_, hits) in flags.items()})
    out["pronoun_leads"] = sum(pronoun_lead(a) for a in answers)
    return out


def real_question_intervals(items: list[RealQuestion], answers: list[Answer], searches: dict[str, list[list[str]]]) -> dict[str, tuple[float, float] | None]:
    """95% intervals of the rated figures, resampling pages (one page can give several
    questions; eval/intervals.py), and of the hybrid's lead over dense only on the same
    questions (the issue asks for hit@1 above dense only)."""
    flags = _flags(items, answers, searches)
    out = {name: grouped_interval(hits, [items[n].source for n in rows]) for name, (rows, hits) in flags.items()}
    if "section_hit@1_hybrid" in flags and "section_hit@1_dense" in flags:
        rows, hybrid = flags["section_hit@1_hybrid"]
        out["section_hit@1_hybrid_minus_dense"] = paired_difference_interval(hybrid, flags["section_hit@1_dense"][1], [items[n].source for n in rows])
    return out


def evaluate_real_questions(pipeline, retriever, items: list[RealQuestion] | None = None) -> dict:
    """Metrics per split, and per question what came back."""
    items = items if items is not None else load_real_questions()
    answers = [pipeline.ask(i.question) for i in items]
    variants = {
        "dense": retriever.with_weights(bm25_weight=0.0, prior_weight=0.0, lay_terms=False),
        "bm25": retriever.with_weights(bm25_weight=1.0, prior_weight=0.0, lay_terms=False),
        "hybrid_no_prior": retriever.with_weights(prior_weight=0.0),
        "hybrid": retriever,
    }
    searches = {name: [[p.section for p in r.retrieve(i.question).kept] for i in items] for name, r in variants.items()}
    by_split = {}
    late_rounds = sorted({i.round for i in items if i.round >= 4})  # each a split of its own: README
    for split in SPLITS:
        # each split, its questions both labelling passes agree on (off-topic or not), and its late rounds
        parts = [(split, lambda i: True), (f"{split}_agreed", lambda i: not i.disputed)]
        parts += [(f"{split}_round{r}", lambda i, r=r: i.round == r) for r in late_rounds]
        for name, keep in parts:
            idx = [n for n, i in enumerate(items) if i.split == split and keep(i)]
            if idx:
                by_split[name] = real_question_metrics([items[n] for n in idx], [answers[n] for n in idx], {k: [v[n] for n in idx] for k, v in searches.items()})
    held = [n for n, i in enumerate(items) if i.split == "held_out"]
    intervals = real_question_intervals([items[n] for n in held], [answers[n] for n in held], {k: [v[n] for n in held] for k, v in searches.items()})
    rows = [
        {"id": i.id, "split": i.split, "coverage": i.coverage, "sections": list(i.sections), "question": i.question, "status": a.status.value, "answer": a.answer, "cited_sections": [c.passage.section for c in a.citations], "source": i.source}
        for i, a in zip(items, answers, strict=True)
    ]
    return {"by_split": by_split, "intervals": {"held_out": intervals}, "per_item": rows}
