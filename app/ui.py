"""The chat page (/) and the compact widget (/widget): Gradio Blocks plus the HTML they show.

Every piece of text that reaches the page goes through `esc`, and is handed to
gr.Markdown as one HTML block (gr.HTML does not sanitise and needs 'unsafe-eval').
Conversation history lives only in the page: a hidden textbox the browser sends
back with each question, never a server-side session (gr.State is kept on the server).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from app import messages
from app.answer import Answer, Citation, Notice, Status
from app.conversation import MAX_KEPT, remember, trim_history
from app.guard import HARD_CAP_FACTOR
from app.signposts import Signposts

_MD_SPECIALS = {
    "*": "&#42;", "_": "&#95;", "`": "&#96;", "[": "&#91;", "]": "&#93;",
    "$": "&#36;", "\\": "&#92;", "~": "&#126;", "|": "&#124;", "#": "&#35;",
    "{": "&#123;", "}": "&#125;",
}
_ABOVE_ANSWER = ("emergency", "child_safety", "crisis", "partial", "jurisdiction")

INTRO = (
    "Ask a question about stalking or harassment in England and Wales. "
    "You get a short answer from published guidance, with the passages it comes from. "
    "Nothing you type is saved."
)
EXIT_HINT = "To leave quickly, press the Shift key three times, or use “Leave this site”."


def esc(text: str) -> str:
    """HTML-escape and neutralise markdown, LaTeX and template characters; one line."""
    # One pass, so the '#' of an entity we made is never escaped again.
    out = "".join(_MD_SPECIALS.get(c) or html.escape(c, quote=True) for c in str(text))
    # A blank line would end the HTML block in the markdown parser.
    return re.sub(r"\s*\n\s*", " ", out)


def _items(items) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<li><strong>{esc(i["name"])}: <span class="sp-number">{esc(i["number"])}</span></strong> {esc(i["for"])}</li>'
        for i in items
    )
    return f'<ul class="sp-items">{rows}</ul>'


def render_notice(notice: Notice) -> str:
    role = ' role="alert"' if notice.kind in ("emergency", "child_safety", "crisis") else ""
    return (
        f'<div class="sp-notice sp-notice-{esc(notice.kind)}"{role}>'
        f"<p><strong>{esc(notice.text)}</strong></p>{_items(notice.items)}</div>"
    )


def _citation(c: Citation, id_prefix: str = "sp-cite") -> str:
    p = c.passage
    return (
        f'<details class="sp-cite" id="{id_prefix}-{c.n}"><summary>&#91;{c.n}&#93; {esc(p.heading)}</summary>'
        f'<blockquote>{esc(p.text)}</blockquote><p class="sp-from">From: {esc(p.doc_title)}</p></details>'
    )


def render_answer(answer: Answer, question: str = "") -> str:
    """The whole answer block: urgent notices first, then the answer, sources, disclaimer."""
    if answer.status is Status.ERROR:
        return render_error(answer.answer)
    above = "".join(render_notice(n) for n in answer.notices if n.kind in _ABOVE_ANSWER)
    below = "".join(render_notice(n) for n in answer.notices if n.kind not in _ABOVE_ANSWER)
    asked = f'<p class="sp-asked">You asked: {esc(question)}</p>' if question and answer.status is not Status.INVALID_QUESTION else ""
    parts = [above, asked, f'<p class="sp-text">{esc(answer.answer)}</p>']
    if answer.citations:
        parts.append('<h2 class="sp-h">Where this comes from</h2><p class="sp-hint">Open a source to read the passage.</p>')
        parts.append("".join(_citation(c) for c in answer.citations))
    if answer.related:
        parts.append(f'<h2 class="sp-h">{esc(messages.RELATED_INTRO)}</h2>')
        parts.append("".join(_citation(Citation(i, p), "sp-related") for i, p in enumerate(answer.related, 1)))
    parts.append(below)
    parts.append(f'<p class="sp-disclaimer">{esc(answer.disclaimer)}</p>')
    return '<div class="sp-answer" role="region" aria-label="Answer">' + "".join(parts) + "</div>"


def render_error(message: str) -> str:
    """One friendly line; never the question. The 999 line stays with it."""
    return (
        '<div class="sp-answer sp-error" role="region" aria-label="Answer">'
        f'<p class="sp-text">{esc(message)}</p>'
        f'<p class="sp-danger-inline"><strong>{esc(messages.DANGER_LINE)}</strong></p>'
        f'<p class="sp-disclaimer">{esc(messages.DISCLAIMER)}</p></div>'
    )


def render_danger_line() -> str:
    return f'<div class="sp-danger" role="note"><p><strong>{esc(messages.DANGER_LINE)}</strong></p></div>'


def render_helplines(signposts: Signposts | None) -> str:
    if signposts is None:
        return ""
    return (
        '<div class="sp-helplines"><h2 class="sp-h">Talk to someone</h2>'
        f"{_items(signposts.helplines)}"
        f'<p>{esc(signposts.solicitor)}</p></div>'
    )


def parse_history(raw: str | None) -> list[str]:
    """The hidden history field comes back from the browser: trust nothing in it."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return trim_history(items, MAX_KEPT)


def dump_history(history: list[str]) -> str:
    """The hidden history field the browser sends back with the next question. Raw
    UTF-8, not \\u escapes: ten earlier questions in a non-Latin script would otherwise
    take 6 bytes a character (7 once the browser escapes them again) and could push a
    long question over the POST cap (app/web/security.py)."""
    return json.dumps(history, ensure_ascii=False)


def is_context(question: str | None, answer: Answer) -> bool:
    """Whether a question joins the history that follow-ups are read against. A refused
    one does not: after "too long", the shorter question sent next would otherwise be
    read as its follow-up, and search would see the long story again. Nor does one in a
    language Signpost cannot read (reason "language"): search would read it as English."""
    return bool(question and question.strip()) and answer.status not in (Status.ERROR, Status.INVALID_QUESTION) and answer.reason != "language"


CSS = """
.gradio-container { max-width: 860px !important; margin: 0 auto !important; font-size: 18px; line-height: 1.55; }
.gradio-container.sp-compact, .sp-compact .gradio-container { max-width: 100% !important; font-size: 16px; }
#sp-exit-row { position: sticky; top: 0; z-index: 50; background: var(--body-background-fill); padding: 4px 0; justify-content: flex-end; }
#sp-exit { flex: 0 0 auto !important; min-width: 0 !important; font-size: 1rem; font-weight: 700; background: #b91c1c; color: #fff; border-color: #b91c1c; }
#sp-exit:hover { background: #991b1b; }
.sp-danger { background: #fef2f2; border-left: 6px solid #b91c1c; padding: 10px 14px; border-radius: 6px; color: #111827; }
.sp-danger p { margin: 0; }
.sp-answer { font-size: 1.05em; color: var(--body-text-color); }
.sp-asked { color: #374151; margin-bottom: .4em; }
.sp-text { font-size: 1.1em; }
.sp-notice { padding: 10px 14px; border-radius: 6px; margin: 0 0 12px 0; }
.sp-notice-emergency, .sp-notice-child_safety, .sp-notice-crisis { background: #fef2f2; border-left: 6px solid #b91c1c; color: #111827; }
.sp-notice-partial, .sp-notice-jurisdiction, .sp-notice-signpost { background: #eff6ff; border-left: 6px solid #1d4ed8; color: #111827; }
.sp-items { margin: 6px 0 0 0; padding-left: 1.2em; }
.sp-items li { margin: 4px 0; }
.sp-number { white-space: nowrap; }
.sp-cite { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.sp-cite summary { cursor: pointer; font-weight: 600; }
.sp-cite blockquote { margin: 8px 0; padding-left: 12px; border-left: 4px solid #1d4ed8; }
.sp-from, .sp-hint { font-size: .9em; color: #374151; }
.sp-h { font-size: 1.1em !important; margin: 16px 0 4px 0 !important; }
.sp-disclaimer { margin-top: 14px; padding-top: 10px; border-top: 1px solid var(--border-color-primary); font-size: .95em; }
.sp-suggest button { font-size: 1rem !important; text-align: left !important; justify-content: flex-start !important; white-space: normal !important; }
.sp-helplines { font-size: .95em; }
.sp-exit-hint { font-size: .95em; }
.dark .sp-asked, .dark .sp-from, .dark .sp-hint { color: #d1d5db; }
.dark .sp-danger *, .dark .sp-notice * { color: #111827 !important; }
"""


def make_theme():
    import gradio as gr  # heavy import kept out of module load (`signpost --help` stays instant)

    return gr.themes.Default(
        primary_hue="blue",
        # plain strings = system fonts: no @font-face, no Google Fonts request
        font=["Arial", "Helvetica", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "Courier New", "monospace"],
    ).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white",
        button_primary_text_color_dark="white",
    )


def build_blocks(
    ask: Callable[[str, list[str]], Answer],
    signposts: Signposts | None,
    suggestions: list[str],
    compact: bool,
    max_chars: int,
    queue_size: int,
    concurrency: int,
):
    """The chat page. `ask(question, history) -> Answer` should never raise."""
    import gradio as gr

    def on_ask(question: str, history_json: str):
        history = parse_history(history_json)
        try:
            answer = ask(question, history)  # the pipeline uses the last history_turns
        except Exception:  # the ask callback handles faults; this is the last line of defence
            return render_error(messages.ERROR), dump_history(history), ""
        if is_context(question, answer):
            history = remember(history, question)
        return render_answer(answer, question or ""), dump_history(history), ""

    with gr.Blocks(title="Signpost", analytics_enabled=False, fill_width=compact) as demo:
        with gr.Row(elem_id="sp-exit-row"):
            gr.Button("Leave this site", elem_id="sp-exit", variant="stop", size="sm", scale=0)
        gr.Markdown(render_danger_line(), elem_id="sp-danger-line", latex_delimiters=[])
        if compact:
            gr.Markdown("## Signpost: stalking and harassment guidance", latex_delimiters=[])
        else:
            gr.Markdown(f"# Signpost\n{esc(INTRO)}", latex_delimiters=[])
        question = gr.Textbox(
            label="Your question",
            placeholder="For example: Can I get a restraining order?",
            elem_id="sp-question",
            lines=1 if compact else 2,
            max_lines=6,
            # Up to the guard's hard cap, not the question limit: a browser cuts pasted
            # text at maxlength, and the end of a long story ("he's outside now") must
            # reach triage. Over the limit, the answer says so, with any notices.
            max_length=max_chars * HARD_CAP_FACTOR,
            submit_btn=False,
            autofocus=False,
        )
        ask_btn = gr.Button("Ask", variant="primary", elem_id="sp-ask")
        history = gr.Textbox(value="[]", visible=False, elem_id="sp-history")
        answer = gr.Markdown(value="", elem_id="sp-answer", sanitize_html=True, latex_delimiters=[])
        event = dict(
            fn=on_ask,
            inputs=[question, history],
            outputs=[answer, history, question],
            api_visibility="private",
            show_progress="minimal",
        )
        ask_btn.click(**event)
        question.submit(**event)
        if suggestions:
            gr.Markdown("## Questions you can ask" if not compact else "### Questions you can ask", latex_delimiters=[])
            with gr.Column(elem_classes=["sp-suggest"]):
                for text in suggestions:
                    btn = gr.Button(text, variant="secondary", size="sm")
                    btn.click(
                        fn=lambda h, t=text: on_ask(t, h),
                        inputs=[history],
                        outputs=[answer, history, question],
                        api_visibility="private",
                        show_progress="minimal",
                    )
        gr.Markdown(render_helplines(signposts), elem_id="sp-helplines", latex_delimiters=[])
        gr.Markdown(f'<p class="sp-exit-hint">{esc(EXIT_HINT)}</p>', latex_delimiters=[])
    demo.queue(api_open=False, max_size=queue_size, default_concurrency_limit=concurrency)
    # Sessions are dropped when their events finish (app/web.py); this bounds the rest
    # (streams cut off by the client) instead of Gradio's 10,000.
    demo.state_session_capacity = queue_size + concurrency
    return demo
