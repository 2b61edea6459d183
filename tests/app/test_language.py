"""Telling a message in another language from English (app/language.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.language import _WORD, LanguageCheck
from eval.golden import load_golden
from eval.real_questions import load_real_questions
from eval.triage_data import load_messages

other_language = LanguageCheck().other_language

# Written for this test (they test a language detector, not triage): "he has a knife and
# is kicking the door in", "my ex follows me everywhere, what can I do?" and the like, in
# languages spoken in the UK. Checked only for being the language named.
OTHER_LANGUAGES = [
    ("pl", "On ma nóż i kopie w drzwi, pomocy"),
    ("pl", "Mój były partner ciągle mnie śledzi i wysyła mi wiadomości, co mogę zrobić?"),
    ("pl", "czy mogę dostać zakaz zbliżania się do mnie"),
    ("ro", "Are un cuțit și bate la ușă, ajutor"),
    ("ro", "Mi-e frică, a spus că mă omoară dacă merg la poliție"),
    ("ur", "وہ دروازے پر چاقو لے کر کھڑا ہے"),
    ("ar", "إنه يقف عند الباب ومعه سكين، ساعدوني"),
    ("pa", "ਉਹ ਦਰਵਾਜ਼ੇ 'ਤੇ ਚਾਕੂ ਲੈ ਕੇ ਖੜ੍ਹਾ ਹੈ"),
    ("bn", "সে ছুরি নিয়ে দরজায় দাঁড়িয়ে আছে"),
    ("es", "Tiene un cuchillo y está golpeando la puerta, ayuda"),
    ("pt", "Ele tem uma faca e está a bater na porta, socorro"),
    ("fr", "Mon ex me suit partout et m'envoie des messages, que puis-je faire ?"),
    ("it", "Ha un coltello e sta sfondando la porta, aiuto"),
    ("lt", "Jis turi peilį ir daužo duris, padėkite"),
    ("tr", "Elinde bıçak var ve kapıyı kırıyor, yardım edin"),
    ("so", "Wuxuu haystaa mindi wuxuuna jebinayaa albaabka, i caawiya"),
    ("de", "Er hat ein Messer und tritt die Tür ein, Hilfe"),
    ("zh", "他拿着刀在踢门，救命"),
    ("hu", "Kés van nála és rugdossa az ajtót, segítség"),
    ("sq", "Ai ka një thikë dhe po godet derën, ndihmë"),
    ("cy", "Mae ganddo gyllell ac mae'n cicio'r drws, help"),
    ("ru", "У него нож, и он выбивает дверь, помогите"),
    ("uk", "У нього ніж, і він вибиває двері, допоможіть"),
    ("fa", "او چاقو دارد و در را می شکند، کمک کنید"),
    ("hi", "उसके पास चाकू है और वह दरवाजा तोड़ रहा है"),
]


# Short, which is when langid is least sure: "he's going to kill me", "help, he wants to
# kill me", "he's here with a knife". Written for this test, like the lines above.
SHORT_OTHER_LANGUAGES = [
    ("fr", "Il va me tuer"),
    ("es", "Ayuda, me quiere matar"),
    ("pl", "Pomocy, on mnie zabije"),
    ("cy", "Mae o yma efo cyllell"),
    ("ro", "Ajutor, mă omoară"),
]
OTHER_LANGUAGES += SHORT_OTHER_LANGUAGES


@pytest.mark.parametrize("code,text", OTHER_LANGUAGES, ids=[f"{c}{n}" for n, (c, _) in enumerate(OTHER_LANGUAGES)])
def test_a_message_in_another_language_is_named(code, text):
    assert other_language(text) == code


def test_no_english_message_we_hold_is_called_another_language():
    """Every English text in the repo: the golden set, the real questions, and the
    triage messages with their typing variants (typos, text-speak, fragments)."""
    texts = [g.question for g in load_golden()] + [q.question for q in load_real_questions()] + [m.text for m in load_messages()]
    assert len(texts) > 3500
    assert [t for t in texts if other_language(t)] == []


@pytest.mark.parametrize(("code", "text"), [("pl", "Pomocy!"), ("fr", "AU SECOURS !!"), ("es", "ayúdame"), ("de", "Hilfe"), ("pt", "socorro..."), ("fr", "à l\u2019aide")])
def test_a_plea_too_short_to_judge_is_still_recognised(code, text):
    assert other_language(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "999",
        "help",
        "SPO?",
        "Die Hleen Die",  # a quoted threat, not German
        "dnt play wit me play wit yo kids im gon win everytime",
        'My ex keeps texting me "te voy a matar", what do I do?',
    ],
)
def test_english_short_mixed_and_unsure_messages_are_left_to_triage(text):
    assert other_language(text) == ""


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "language"


def _real(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_real_messages_in_other_languages_are_recognised():
    """76 messages people wrote in 31 languages (fixtures/language/README.md)."""
    rows = _real("real_foreign.jsonl")
    assert len(rows) == 76 and all(r["source"].startswith("http") for r in rows)
    assert [r["id"] for r in rows if not other_language(r["text"])] == []


def test_real_english_that_looks_foreign_is_left_to_triage():
    """Nigerian Pidgin, patois, Scots, Singlish, Hinglish, text-speak, very short lines."""
    rows = _real("real_english_hard.jsonl")
    assert len(rows) == 58
    assert [(r["id"], other_language(r["text"])) for r in rows if other_language(r["text"])] == []


def test_a_blind_batch_reads_as_it_was_measured():
    """A second batch, collected after the rule was fixed and measured once, blind
    (fixtures/language/README.md): 68 of 69 messages in 36 languages recognised (the miss,
    "Tu vas voir, quand tu vas rentrer.", a seven-word French threat, recognised since
    session 15's odds rule), no English line flagged. Held as a floor, so a change that
    loses ground here shows."""
    foreign = _real("blind_foreign.jsonl")
    missed = [r["id"] for r in foreign if not other_language(r["text"])]
    assert len(foreign) == 69 and missed == []
    english = _real("blind_english_hard.jsonl")
    assert len(english) == 34 and [r["id"] for r in english if other_language(r["text"])] == []


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+|\n+")


def short_pieces(texts: list[str]) -> list[str]:
    """The short messages inside longer ones: each sentence of 3 to 12 words, and each
    text's first 3, 4, 5, 6 and 8 words."""
    pieces = []
    for text in texts:
        pieces += [s.strip() for s in _SENTENCE_END.split(text) if 3 <= len(_WORD.findall(s)) <= 12]
        words = text.split()
        pieces += [" ".join(words[:n]) for n in (3, 4, 5, 6, 8) if len(words) >= n]
    return [p for p in dict.fromkeys(pieces) if len(_WORD.findall(p)) >= 3]


def test_short_pieces_of_english_are_left_to_triage():
    """About 25,000 sentences and openings of 3 to 12 words cut from every English text
    we hold, and from the English lines chosen to look foreign. The odds rule was chosen
    on the first 19,682, none flagged; triage round 10, collected after it, brought 4,935
    more, and one is flagged: "Tsk, tsk, tsk…" (an interjection, 78 times likelier
    Frisian). Held as found."""
    texts = [g.question for g in load_golden()] + [q.question for q in load_real_questions()] + [m.text for m in load_messages()]
    pieces = short_pieces(texts)
    assert len(pieces) > 24000
    assert [p for p in pieces if other_language(p)] == ["Tsk, tsk, tsk\u2026"]
    hard = short_pieces([r["text"] for r in _real("real_english_hard.jsonl") + _real("blind_english_hard.jsonl")])
    # Pieces of a Taglish and a Hinglish line that are whole Tagalog and Hindi clauses
    # (the Hindi ones since session 16's check for romanised South Asian text).
    assert [p for p in hard if other_language(p)] == [
        "Ek toh samajhdaari ki baat",
        "Ek toh samajhdaari ki baat karo",
        "Ek toh samajhdaari ki baat karo and then",
        "Hnd ko gets bakit bigdeal talaga ang pagiging taglish?",
        "Hnd ko gets bakit bigdeal talaga ang pagiging",
    ]


@pytest.mark.parametrize(
    "text",
    [
        # written for this test, like the lines above
        "mera ex mujhe har jagah follow karta hai, main kya karoon",
        "woh ghar ke bahar khada hai aur mujhe dar lag raha hai",
        "mujhe bachao",
        "oh mainu maar dega, menu bahut dar lagda",  # Punjabi
        "tumi amake keno eto koshto dao",  # Bengali
    ],
)
def test_romanised_south_asian_messages_are_recognised(text):
    """Hindi/Urdu, Punjabi and Bengali in Latin letters were read as English before
    session 16 (langid has no such language), and triage then read only their English
    words. (The code may be langid's guess: "woh ghar ke bahar..." is 'ace'.)"""
    assert other_language(text)


def test_a_blind_batch_of_romanised_messages_reads_as_it_was_measured():
    """Session 16: collected after the word check was fixed, by a helper that saw neither
    it nor its code (fixtures/language/README.md), and measured once: 29 of 41 romanised
    Hindi, Urdu, Punjabi and Bengali messages recognised (12 with session 15's rule), and
    none of 35 Hinglish and Indian English lines flagged (none before). Held as a floor."""
    romanised = _real("blind16_romanised.jsonl")
    assert len(romanised) == 41 and sum(bool(other_language(r["text"])) for r in romanised) >= 29
    english = _real("blind16_hinglish.jsonl")
    assert len(english) == 35 and [r["id"] for r in english if other_language(r["text"])] == []


def test_real_romanised_messages_are_mostly_recognised():
    """Of the 23 real romanised messages of the first two batches (mostly poems, lyrics
    and comments), 4 were recognised before session 16's word check and 15 after. They
    were read while choosing the share, and a few Urdu spellings in the list ("mujhy",
    "kay", "aik", "jaty") were added after reading them: not a blind test. Held as a floor."""
    rows = _real("real_romanised.jsonl") + _real("blind_romanised.jsonl")
    assert len(rows) == 23 and sum(bool(other_language(r["text"])) for r in rows) >= 15


def test_short_pieces_of_real_messages_in_other_languages_are_mostly_recognised():
    """Session 15: 3 to 6 words cut from the real messages. With the probability of English
    alone, 255 of the first batch's 303 such pieces were recognised (84%) and 232 of the
    blind batch's 270 (86%); with the odds rule, 282 (93%) and 257 (95%). Held as a floor."""
    for name, floor in (("real_foreign.jsonl", 282), ("blind_foreign.jsonl", 257)):
        pieces = [p for p in short_pieces([r["text"] for r in _real(name)]) if len(_WORD.findall(p)) <= 6]
        assert sum(bool(other_language(p)) for p in pieces) >= floor, name


def test_a_blind_batch_of_short_messages_reads_as_it_was_measured():
    """Short messages (3 to 12 words), collected after the odds rule was fixed and
    measured once, blind (fixtures/language/README.md): 91 of 103 in 24 languages
    recognised (82 with the probability of English alone), none of 72 English lines
    flagged. Held as a floor."""
    foreign = _real("short_foreign.jsonl")
    assert len(foreign) == 103 and sum(bool(other_language(r["text"])) for r in foreign) >= 91
    english = _real("short_english.jsonl")
    assert len(english) == 72 and [r["id"] for r in english if other_language(r["text"])] == []
