"""Conversation history: the one place that decides what earlier questions are kept and used.

History lives with the client (the page, the API caller, the CLI session) and is sent
with each question; the server never stores it. Every surface trims it here.
"""

from __future__ import annotations

import re

from app.guard import clean_text

# Earlier questions a client keeps (the most `history_turns` may ask for).
MAX_KEPT = 10

_FOLLOW_UP = re.compile(r"^(and|but|so|also|what about|how about|what if|then|or)\b", re.IGNORECASE)
_FOLLOW_UP_MAX_WORDS = 12


def trim_history(history, turns: int = MAX_KEPT, max_chars: int = 1000) -> list[str]:
    """The last `turns` earlier questions as clean text (strings or {"question": ...}).

    Cut before cleaning, so a huge history costs no more than `turns` short items.
    """
    if not isinstance(history, list) or turns <= 0:
        return []
    out = []
    for item in history[-turns:]:
        text = item.get("question", "") if isinstance(item, dict) else item
        if not isinstance(text, str):
            continue
        text = clean_text(text[: max_chars * 2])[:max_chars]
        if text:
            out.append(text)
    return out


def remember(history: list[str], question: str, keep: int = MAX_KEPT) -> list[str]:
    """The history a client keeps after asking `question`."""
    return trim_history([*history, question], keep)


def retrieval_query(question: str, history: list[str]) -> str:
    """What retrieval searches for: a short or connective follow-up ("and what if he's
    my ex?") is read in the context of the previous question."""
    if history and (len(question.split()) <= _FOLLOW_UP_MAX_WORDS or _FOLLOW_UP.match(question)):
        return f"{history[-1]} {question}"
    return question
