"""Is a message written in a language other than English?

Every model here reads English only: the embedding model, the triage heads and the
guidance itself. A message in Polish saying "he has a knife and is kicking the door in"
("On ma nóż i kopie w drzwi") used to get "The guidance we have does not answer this
question" and no 999 notice. Triage cannot read it, so it cannot say there is no
danger: such a message gets the emergency notice and a plain "Signpost can only read
English" (app/pipeline.py, TriageStage).

Two checks, both offline:
- script: most of the message's letters are not Latin (Urdu, Arabic, Punjabi, Bengali,
  Chinese, Russian, ...);
- py3langid (langid.py's model, bundled in the package, BSD) for Latin-script languages
  (Polish, Romanian, Portuguese, Lithuanian, Somali, Welsh, ...), trusted only when it is
  sure (MIN_CONFIDENCE) about a message of at least MIN_WORDS words.

Chosen so that no English message we hold is called another language (test_language.py
reads all of them: the golden set, the real questions and every triage message, typos
and text-speak included). The most confident English mistake was 0.57 ("dnt play wit me
play wit yo kids", taken for Nigerian Pidgin). Of 39 sentences written in 28 other
languages when this was chosen (25 of them, in 22 languages, are the test's), the least
confident was 0.73 (Arabic, caught by its script anyway), and 0.81 in Latin script
(Italian). Romanised Urdu or Hindi ("mera ex mujhe follow karta hai") is
not caught: README, Known gaps.
"""

from __future__ import annotations

import re
import threading
import unicodedata

MIN_CONFIDENCE = 0.7
MIN_WORDS = 3
MAX_CHARS = 2000  # enough to tell the language; bounds the cost of a long message
_WORD = re.compile(r"[^\W\d_]{2,}")

_lock = threading.Lock()
_identifier = None


def _langid():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def other_language(text: str) -> str:
    """The language code (ISO 639) when `text` is clearly not English, else ""."""
    sample = text[:MAX_CHARS]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return ""
    latin = sum("LATIN" in unicodedata.name(c, "") for c in letters)
    if latin * 2 <= len(letters):  # mostly another script: not English, whatever langid says
        code, _ = _langid().classify(sample)
        return code if code != "en" else "und"
    if len(_WORD.findall(sample)) < MIN_WORDS:
        return ""
    code, confidence = _langid().classify(sample)
    return code if code != "en" and confidence >= MIN_CONFIDENCE else ""
