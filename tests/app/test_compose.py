"""The extractive composer writes prose a person can follow (P8 item 3)."""

import pytest

from app.compose import _NAVIGATION, ExtractiveComposer, SentenceBank, _with_antecedents, points_back
from eval.golden import load_golden
from eval.real_questions import load_real_questions
from index.types import Passage

POINTING = ["They may offer protection.", "These can include restraining orders.", "This can include texts.", "Such orders last months.", "He may be arrested.", "She can apply."]
STANDING = ["The police will listen.", "It is important to keep records.", "Harassment injunctions are court orders."]


@pytest.mark.parametrize("sentence", POINTING)
def test_sentences_that_point_back_are_recognised(sentence):
    assert points_back(sentence)


@pytest.mark.parametrize("sentence", STANDING)
def test_sentences_that_stand_alone_are_not(sentence):
    assert not points_back(sentence)


def test_a_pointing_sentence_brings_what_it_points_at_or_is_dropped():
    sentences = ["The police will listen.", "They may offer protection.", "These can include a warning.", "You can also apply yourself."]
    assert _with_antecedents(sentences, 2) == [0, 1, 2]  # a chain back to a sentence that stands alone
    assert _with_antecedents(sentences, 3) == [3]
    assert _with_antecedents(["They may help.", "The court decides."], 0) is None  # nothing before it to show


def _passage(n: int, text: str) -> Passage:
    return Passage(f"c{n}", "doc", "Doc", f"Section {n}", "", "a", "england-wales", n, text)


# Sentences of the guidance that point at pages Signpost does not have, and sentences
# near them that do answer something.
POINTERS = [
    "You can also find official guidance in the Stalking Protection Orders: statutory guidance for the police (accessible) – GOV.UK.",
    "For a full explanation of SPOs, including how they are enforced and statutory guidance for police, see our dedicated page on Stalking Protection Orders.",
    "To learn more about each of these legal protections, follow the links to our detailed pages on harassment injunctions and Stalking Protection Orders.",
    "If you need support with the legal process, our page on handling domestic abuse charges offers practical guidance and next steps.",
]
ANSWERS = [
    "Stalking Protection Orders (SPOs) provide immediate protection for victims of stalking, whether or not criminal charges have been brought.",
    "SPOs can put restrictions on the stalker’s actions and can be applied for by the police.",
    "Whether you are a victim seeking protection or someone facing allegations, getting professional legal advice is essential.",
]


@pytest.mark.parametrize("sentence", POINTERS)
def test_sentences_that_point_at_other_pages_are_recognised(sentence):
    assert _NAVIGATION.search(sentence)


@pytest.mark.parametrize("sentence", ANSWERS)
def test_sentences_that_answer_are_not_taken_for_pointers(sentence):
    assert not _NAVIGATION.search(sentence)


def test_a_pointer_never_leads_or_joins_an_answer(embedder):
    # The pointer names Stalking Protection Orders, police and guidance, so it scores
    # well against the question; it must still not be shown.
    text = " ".join(ANSWERS[:2] + POINTERS[:1])
    composer = ExtractiveComposer(SentenceBank(embedder), support_threshold=0.0, max_words=120)
    question = "is there official police guidance on stalking protection orders"
    out = [s.text for s in composer.select(question, embedder.embed_one(question), [_passage(0, text)])]
    assert out == ANSWERS[:2]


def test_one_passage_that_answers_is_quoted_whole_in_its_own_order(embedder):
    text = "Harassment injunctions are court orders. They stop someone from contacting you. You can apply to the family court."
    composer = ExtractiveComposer(SentenceBank(embedder), support_threshold=0.0, max_words=120)
    question = "how do harassment injunctions stop someone contacting me"
    out = composer.select(question, embedder.embed_one(question), [_passage(0, text)])
    assert [s.text for s in out] == ["Harassment injunctions are court orders.", "They stop someone from contacting you.", "You can apply to the family court."]


def test_a_long_passage_is_not_quoted_whole(embedder):
    text = " ".join(f"Sentence number {n} is about court orders and nothing else at all here." for n in range(20))
    composer = ExtractiveComposer(SentenceBank(embedder), support_threshold=0.0, max_words=60)
    question = "court orders"
    out = composer.select(question, embedder.embed_one(question), [_passage(0, text)])
    assert 0 < sum(len(s.text.split()) for s in out) <= 60


def test_a_long_question_leads_with_the_first_passage_a_short_one_with_the_best_sentence(embedder):
    first = _passage(0, "You can report harassment to the police. Keep a diary of every incident.")
    second = _passage(1, "A neighbour who plays loud music late at night can be reported to the council.")
    composer = ExtractiveComposer(SentenceBank(embedder), support_threshold=0.0, max_words=120)
    short = "loud music from a neighbour at night"
    assert composer.select(short, embedder.embed_one(short), [first, second])[0].sources == (1,)
    long = short + " " + " ".join(["and it goes on for hours every single week"] * 2)
    assert len(long.split()) >= composer.weights.lead_from_first_words
    assert composer.select(long, embedder.embed_one(long), [first, second])[0].sources == (0,)


def test_no_answer_begins_with_a_word_that_points_back(pipeline):
    questions = [g.question for g in load_golden()] + [q.question for q in load_real_questions(split="tuning")]
    leads = [a.answer for a in (pipeline.ask(q) for q in questions) if a.status.value == "answered" and points_back(a.answer)]
    assert leads == []


def test_restraining_order_answer_says_who_acts(pipeline):
    answer = pipeline.ask("Can I get a restraining order to stop the stalking?")
    assert answer.status.value == "answered"
    assert "police" in answer.answer.split("[")[0].lower() or "court" in answer.answer.split("[")[0].lower()
    assert not points_back(answer.answer)


def test_non_molestation_order_without_him_knowing_says_it_can_be_done_without_notice(pipeline):
    # P8's example: the passage is found through the lay term (index/lay_terms.yaml), and
    # the composer scores sentences on the same searched text, so the sentence is used.
    answer = pipeline.ask("Can I get a non-molestation order without him knowing?")
    assert answer.status.value == "answered"
    assert "without notifying the other party" in answer.answer
    assert not points_back(answer.answer)
