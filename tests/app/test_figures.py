"""Questions that ask for a figure (app/figures.py, scope.yaml `figures`): real model, real index."""

import pytest

from app import messages
from app.answer import Status
from app.figures import FigureCheck
from app.pipeline import FigureStage, Pipeline

CHECK = FigureCheck()
LASTS, TAKES, COSTS, SENTENCE, COUNT = (k.missing for k in CHECK.kinds)


@pytest.mark.parametrize(
    "question, kinds",
    [
        ("How long does a Stalking Protection Order last?", [LASTS]),
        ("how long do restraining orders stay in force", [LASTS]),
        ("is there a time limit for reporting harassment", [LASTS]),
        ("How quickly can I get an emergency order?", [TAKES]),
        ("how long will it take the police to do something", [TAKES]),
        ("How much does it cost to apply for a non-molestation order?", [COSTS]),
        ("can i get legal aid for an injunction", [COSTS]),
        ("What is the maximum sentence for stalking?", [SENTENCE]),
        ("whats the sentence for threats to kill", [SENTENCE]),
        ("How many times does he have to message me before it counts as harassment?", [COUNT]),
        ("Can I get a restraining order?", []),
        ("What counts as a threat to kill?", []),
        ("how long has this been illegal", []),
        ("I don't know how much more of this I can take", []),
    ],
)
def test_the_figure_a_question_asks_for(question, kinds):
    assert [k.missing for k in CHECK.asked(question)] == kinds


def test_an_answer_gives_the_figure_asked_for_or_the_kind_is_unanswered():
    question = "How quickly can I get an emergency order?"
    assert CHECK.unanswered(question, ["The court can grant an order the same day."]) == []
    assert [k.missing for k in CHECK.unanswered(question, ["Emergency protection orders are legal tools."])] == [TAKES]
    assert CHECK.unanswered("Can I get a restraining order?", ["Emergency protection orders are legal tools."]) == []


def test_criminal_charges_are_no_price():
    # A cost question answered with "...whether or not criminal charges have been brought"
    # was taken as answered until session 21: "charges" counted as a price.
    question = "How much does it cost to apply for a non-molestation order?"
    assert [k.missing for k in CHECK.unanswered(question, ["SPOs protect victims whether or not criminal charges have been brought."])] == [COSTS]
    assert CHECK.unanswered(question, ["Applying is free of charge."]) == []


def test_a_short_question_for_a_figure_the_guidance_does_not_give_is_not_covered(pipeline):
    answer = pipeline.ask("How long does a Stalking Protection Order last?")
    assert (answer.status, answer.reason) == (Status.NOT_COVERED, "no_figure")
    assert answer.answer == messages.NOT_COVERED["no_figure"].format(topic=LASTS)
    assert answer.related and answer.citations == []
    assert any(n.kind == "signpost" for n in answer.notices)
    # Without the stage, the guidance's general sentences about such orders were the answer
    without = Pipeline([s for s in pipeline.stages if not isinstance(s, FigureStage)], pipeline.signposts)
    assert without.ask("How long does a Stalking Protection Order last?").status is Status.ANSWERED


def test_a_question_whose_answer_gives_the_figure_is_answered(pipeline):
    # The guidance: "These orders are typically temporary but can be extended..."
    answer = pipeline.ask("How long does an emergency protection order last?")
    assert answer.status is Status.ANSWERED and "temporary" in answer.answer
    assert not any(n.kind == "partial" for n in answer.notices)
    quick = pipeline.ask("How quickly can I get an emergency protection order?")
    assert quick.status is Status.ANSWERED and "same day" in quick.answer


def test_a_follow_up_is_read_for_the_figure_it_asks_for(pipeline):
    answer = pipeline.ask("how long does it last?", ["What is a Stalking Protection Order?"])
    assert (answer.status, answer.reason) == (Status.NOT_COVERED, "no_figure")


def test_a_long_question_keeps_its_answer_with_a_note_on_the_figure(pipeline):
    story = (
        "My ex has been following me to work and turning up outside my flat for months, and the police "
        "told me to keep a record of everything he does. How much will it cost me to apply for a court order?"
    )
    answer = pipeline.ask(story)
    assert answer.status is Status.ANSWERED and answer.citations
    assert [n.text for n in answer.notices if n.kind == "partial"] == [messages.PARTIAL.format(topic=COSTS)]
    assert answer.reason == "partial"
