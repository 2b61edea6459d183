"""An eval-side faithfulness check that shares no code with the production verifier.

The verifier (app/verify.py) decides what reaches users; if the eval reused its rules,
faithfulness would be 1.0 by construction. This check is independent and stricter:

- extractive answers: every statement must be a verbatim span of a passage it cites
  (after folding white space and curly quotes), so a reworded, merged or truncated
  sentence fails;
- generated answers: every content word, every number and every negation of the
  statement must appear in a passage it cites.

What it catches: invented sentences, wrong or missing citations, changed numbers,
dropped or added negations ("you should not call 999" against "call 999"), words
the passage does not contain. What it cannot catch: a verbatim sentence quoted out
of its context, a sentence that reuses the passage's words in another order to say
something else, or a correct statement that does not answer the question (that is
relevance, measured by the similarity and judge metrics).
"""

from __future__ import annotations

import re

# Shown in the HTML report next to the score.
LIMITS = (
    "citation_faithfulness (eval/faithfulness.py, independent of the production verifier): "
    "extractive answers must quote the cited passage verbatim; generated answers must use only the cited "
    "passage's content words, numbers and negations. It catches invented sentences, wrong or missing "
    "citations, changed numbers and flipped negations. It cannot catch a verbatim sentence quoted out of "
    "context, the passage's own words rearranged to say something else, or a true statement that does not "
    "answer the question."
)

_MARKS = re.compile(r"((?:\s*\[\d+\])+)")
_MARK = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})

NEGATIONS = frozenset({"not", "no", "never", "cannot", "can't", "don't", "doesn't", "didn't", "won't", "isn't", "aren't", "wasn't", "shouldn't", "mustn't", "nor", "without", "none", "nothing"})
# Function words carry no claim of their own; everything else must be in the passage.
_FUNCTION_WORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "so", "to", "of", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "there", "their", "they", "them", "he", "she", "his", "her", "you", "your", "we", "our", "us", "i", "me", "my", "can", "could", "may", "might", "will", "would", "should", "must", "do", "does", "did", "has", "have", "had", "which", "who", "whom", "whose", "what", "when", "where", "how", "also", "any", "some", "such", "than", "more", "most", "other", "into", "about", "over", "under", "up", "out"]
)


def fold(text: str) -> str:
    return " ".join(text.translate(_QUOTES).split()).lower()


def statements(response: str, n_passages: int) -> list[tuple[str, list[int]]]:
    """(statement, 0-based passage indexes) for each run of text before [n] marks.

    Trailing text with no mark is an uncited statement (indexes []); a mark outside
    1..n_passages resolves to nothing.
    """
    out = []
    parts = _MARKS.split(response or "")
    for i in range(0, len(parts), 2):
        text = parts[i].strip()
        marks = parts[i + 1] if i + 1 < len(parts) else ""
        cited = [int(m) - 1 for m in _MARK.findall(marks)]
        if text:
            out.append((text, [c for c in cited if 0 <= c < n_passages]))
    return out


def _words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text)))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def verbatim_supported(statement: str, passage: str) -> bool:
    return fold(statement).rstrip(".!?;: ") in fold(passage)


def content_supported(statement: str, passage: str) -> bool:
    said, source = _words(statement), _words(passage)
    stems = {_stem(w) for w in source}
    content = {w for w in said if w not in _FUNCTION_WORDS and w not in NEGATIONS and not w.isdigit()}
    if any(_stem(w) not in stems for w in content):
        return False
    if set(_NUMBER.findall(fold(statement))) - set(_NUMBER.findall(fold(passage))):
        return False
    return (said & NEGATIONS) <= source


def faithfulness_score(response: str, passages: list[str], verbatim: bool) -> float | None:
    """Supported statements / statements; None when the response makes no statement."""
    found = statements(response, len(passages))
    if not found:
        return None
    check = verbatim_supported if verbatim else content_supported
    supported = sum(1 for text, cited in found if any(check(text, passages[i]) for i in cited))
    return supported / len(found)
