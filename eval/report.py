"""HTML report with plots: metrics vs baseline and thresholds, per section, worst items."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from eval.faithfulness import LIMITS as FAITHFULNESS_LIMITS
from eval.intervals import describe_intervals


def _bar_chart(path: Path, names: list[str], values: list[float], baseline: list[float | None], floors: list[float | None], title: str) -> None:
    # Imported here: only the report draws plots; Agg needs no display.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, max(3, 0.45 * len(names))))
    y = range(len(names))
    ax.barh([i + 0.2 for i in y], values, height=0.4, label="this run", color="#1d70b8")
    ax.barh([i - 0.2 for i in y], [b or 0 for b in baseline], height=0.4, label="baseline", color="#b1b4b6")
    for i, f in enumerate(floors):
        if f is not None:
            ax.plot([f, f], [i - 0.45, i + 0.45], color="#d4351c", linewidth=2, label="threshold" if i == floors.index(f) else None)
    ax.set_yticks(list(y), names)
    ax.set_xlim(0, 1.05)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _blind_round(triage: dict, key: str, about: str) -> str:
    """One line of the triage section for a round measured blind."""
    m = triage.get(key, {})
    return (
        f"{about}; {m.get('n', 0)} held-out messages): emergency recall {_fmt(m.get('emergency_recall'))}, "
        f"emergency notice on those with no label {_fmt(m.get('hard_negative_emergency_rate'))}, child notice recall {_fmt(m.get('child_at_risk_notice_recall'))}."
    )


def write_report(summary: dict, out: Path, baseline: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    metrics = summary["metrics"]
    rules = {n: r for split_rules in summary["config"]["thresholds"]["floors"].values() for n, r in split_rules.items()}
    by_split = summary["by_split"]
    baseline = baseline.get("all") or next(iter(baseline.values()), {})
    names = [n for n, v in metrics.items() if v is not None]
    _bar_chart(out / "metrics.png", names, [metrics[n] for n in names], [baseline.get(n) for n in names], [rules.get(n, {}).get("min") for n in names], "Metrics (all items)")

    sections: dict[str, list[dict]] = defaultdict(list)
    for item in summary["per_item"]:
        sections[item["section"]].append(item)
    sec_names = sorted(sections)
    sec_status = [sum(i["status"] == i["expected_status"] for i in sections[s]) / len(sections[s]) for s in sec_names]
    _bar_chart(out / "sections.png", sec_names, sec_status, [None] * len(sec_names), [None] * len(sec_names), "Status accuracy by reference section")

    retrieval = summary["retrieval"].get("held_out") or next(iter(summary["retrieval"].values()))
    r_names = list(retrieval)
    _bar_chart(out / "retrieval.png", r_names, [retrieval[n]["mrr"] for n in r_names], [None] * len(r_names), [None] * len(r_names), "MRR on the held-out split, by retriever")

    def score(item):
        bad_status = item["status"] != item["expected_status"]
        return (not bad_status, item.get("citation_faithfulness") or 1.0, item.get("semantic_similarity") or 1.0)

    worst = sorted(summary["per_item"], key=score)[:12]
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(n)}</td><td>{'skipped' if v is None else f'{v:.3f}'}</td><td>{e(str(baseline.get(n, '')))}</td>"
        f"<td>{e(str(by_split.get('tuning', {}).get(n)))[:5]}</td><td>{e(str(by_split.get('held_out', {}).get(n)))[:5]}</td></tr>"
        for n, v in metrics.items()
    )
    skipped = "".join(f"<li>{e(n)}: {e(r)}</li>" for n, r in summary["skipped"].items())
    ret_rows = "".join(
        f"<tr><td>{e(split)}</td><td>{e(name)}</td>" + "".join(f"<td>{s[k]:.3f}</td>" for k in ("hit@1", "hit@3", "hit@5", "recall@3", "mrr")) + "</tr>"
        for split, by_name in summary["retrieval"].items()
        for name, s in by_name.items()
    )
    worst_html = "".join(
        f"<section><h3>{e(i['id'])} ({e(i['kind'])}, {e(i['split'])}): expected {e(i['expected_status'])}, got {e(i['status'])}</h3>"
        f"<p><b>Question:</b> {e(i['question'])}</p><p><b>Answer:</b> {e(i['answer'])}</p><p><b>Reference:</b> {e(i['reference'])}</p>"
        + "".join(f"<details><summary>[{c['n']}] {e(c['section'])}</summary><p>{e(c['text'])}</p></details>" for c in i["citations"])
        + "</section>"
        for i in worst
    )
    triage = summary["triage"]
    t_every, t_real = triage["metrics"], triage["real_only"]
    t_rows = "".join(
        f"<tr><td>{e(label)}</td>" + "".join(f"<td>{c[k]}</td>" for k in ("tp", "fn", "fp", "tn"))
        + "".join(f"<td>{_fmt(m.get(label + '_' + k))}</td>" for m in (t_every, t_real) for k in ("recall", "precision"))
        + "</tr>"
        for label, c in triage["confusion"].items()
    )
    t_misses = "".join(
        f"<tr><td>{e(m['id'])}</td><td>{e(m['origin'])}</td><td>{e(', '.join(m['expected']) or 'none')}</td><td>{e(', '.join(m['got']) or 'none')}</td><td>{e(m['text'][:300])}</td></tr>"
        for m in triage["mistakes"][:60]
    )
    k_rows = "".join(
        f"<tr><td>{e(kind)}</td><td>{k['n']}</td><td>{_fmt(k['emergency_rate'])}</td><td>{_fmt(k['any_notice_rate'])}</td></tr>" for kind, k in triage.get("hard_negatives_by_kind", {}).items()
    )
    triage_html = f"""<h2>Safety triage (held-out split)</h2>
<p>{t_every['n']} held-out messages ({t_real['n']} real, the rest typing variants of them), split from the training data by source.
Emergency notice (immediate_danger or threat): recall {t_every['emergency_recall']:.3f}; on messages with no label (hard negatives) it fires for {t_every['hard_negative_emergency_rate']:.3f}.
Round 2 (collected after the first held-out measurements; {triage.get('round2', {}).get('n', 0)} held-out messages):
emergency recall {_fmt(triage.get('round2', {}).get('emergency_recall'))}, hard-negative emergency rate {_fmt(triage.get('round2', {}).get('hard_negative_emergency_rate'))}.
Real questions people asked (round 3, P8's set labelled for triage; {triage.get('round3', {}).get('n', 0)} held-out messages): emergency notice on those with no label {_fmt(triage.get('round3', {}).get('hard_negative_emergency_rate'))}.
Round 4 (collected 2026-11-30; {triage.get('round4', {}).get('n', 0)} held-out messages): emergency recall {_fmt(triage.get('round4', {}).get('emergency_recall'))}, hard-negative emergency rate {_fmt(triage.get('round4', {}).get('hard_negative_emergency_rate'))}.
Round 5 (P8's round-5 questions, mostly parents and people asking for someone else; {triage.get('round5', {}).get('n', 0)} held-out messages): emergency notice on those with no label {_fmt(triage.get('round5', {}).get('hard_negative_emergency_rate'))}, child notice recall {_fmt(triage.get('round5', {}).get('child_at_risk_notice_recall'))}.
{_blind_round(triage, "round7", "Round 7 (P8's round-6 questions, measured blind")}
{_blind_round(triage, "round8", "Round 8 (collected 2026-11-30: quoted threats and hard negatives, measured blind")}
{_blind_round(triage, "round9", "Round 9 (collected 2026-11-30, session 15: quoted threats, first-person danger and hard negatives, measured blind")}
{_blind_round(triage, "round10", "Round 10 (collected 2026-11-30, session 15, to train on: veiled threats, threats inside stories and near misses; kept out of training, measured blind")}
{_blind_round(triage, "round11", "Round 11 (collected 2026-11-30, session 16: threats and danger, children and self-harm, hard negatives; measured blind with session 16's rules")}
{_blind_round(triage, "round12", "Round 12 (collected 2026-11-30, session 17: threats and danger in people's own words and quoted in UK news and court reports, hard negatives; measured blind with session 17's border reader")}
{_blind_round(triage, "round13", "Round 13 (collected 2026-12-01, session 18: threats and danger from kinds of page earlier rounds had not used (workplaces, neighbours, road rage, sport, Irish and New Zealand courts), hard negatives; measured blind with session 17's head")}
{_blind_round(triage, "round14", "Round 14 (collected 2026-12-01, session 21: children at risk in charity case studies, news, court reports, forums and advice columns, with hard negatives that mention children; measured blind with session 20's head")}
On the {triage.get('agreed', {}).get('n', 0)} held-out messages both blind labelling passes agree on: emergency recall {_fmt(triage.get('agreed', {}).get('emergency_recall'))}, hard-negative emergency rate {_fmt(triage.get('agreed', {}).get('hard_negative_emergency_rate'))}.
Seconds per message: {triage['seconds_per_message']:.4f}.</p>
<p>{e(describe_intervals(t_every, triage.get('intervals', {}), "held-out, resampling source groups (a message with its variants)"))}</p>
<h3>Hard negatives by kind</h3><table><tr><th>kind</th><th>messages</th><th>emergency notice</th><th>any notice</th></tr>{k_rows}</table>
<table><tr><th>label</th><th>TP</th><th>FN</th><th>FP</th><th>TN</th><th>recall</th><th>precision</th><th>recall (real only)</th><th>precision (real only)</th></tr>{t_rows}</table>
<h3>Mistakes (first 60)</h3><table><tr><th>id</th><th>origin</th><th>expected</th><th>got</th><th>message</th></tr>{t_misses}</table>"""
    gate = summary["gate"]
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signpost evaluation</title>
<style>body{{font-family:Arial,sans-serif;max-width:1000px;margin:2rem auto;line-height:1.5}}table{{border-collapse:collapse}}td,th{{border:1px solid #b1b4b6;padding:4px 8px}}img{{max-width:100%}}</style></head><body>
<h1>Signpost evaluation</h1>
<p>{summary['items']} golden items, created {e(summary['config']['created_at'])}. Gate: <b>{'PASSED' if gate['passed'] else 'FAILED'}</b></p>
<ul>{''.join(f'<li>{e(f)}</li>' for f in gate['failures'])}</ul>
<h2>Metrics</h2><table><tr><th>metric</th><th>all</th><th>baseline</th><th>tuning</th><th>held-out</th></tr>{rows}</table>
<p>{e(FAITHFULNESS_LIMITS)}</p>
<p>Skipped:</p><ul>{skipped or '<li>none</li>'}</ul>
<img src="metrics.png" alt="Bar chart of each metric against its baseline and threshold">
<h2>Retrieval</h2><table><tr><th>split</th><th>retriever</th><th>hit@1</th><th>hit@3</th><th>hit@5</th><th>recall@3</th><th>MRR</th></tr>{ret_rows}</table>
<p>llamaindex_default uses llama-index's default chunking (about 1,000-token chunks), so one chunk holds several sections: it scores high on hit@k but its passages are too long to cite.</p>
<img src="retrieval.png" alt="MRR by retriever on the held-out split">
<h2>Real questions people asked (held-out)</h2>
<p>{e(describe_intervals(by_split.get('real_held_out', {}), summary.get('real_question_intervals', {}), "resampling pages"))}</p>
{triage_html}
<h2>By section</h2><img src="sections.png" alt="Status accuracy by section">
<h2>Worst items</h2>{worst_html}
</body></html>"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
