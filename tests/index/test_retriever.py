import pytest

from ingest import load_document
from tests.conftest import CORPUS

QUESTIONS = load_document(CORPUS / "stalking-and-harassment-guidance.md").questions()


def test_vague_question_finds_the_passage_on_applying_without_notice_in_the_top_2(retriever):
    result = retriever.retrieve("can I apply without the other person knowing", k=2)
    assert any(p.section == "Emergency Protection and Immediate Safety Measures" and "without notifying the other party" in p.text for p in result.kept)


# The section prior (P8) learned from real questions that "can I apply..." is mostly
# about Legal Protections, and Emergency Protection is rarely what real people ask
# about: without the lay terms it lifts a Legal Protections passage over the one that
# answers this vague question. "without the other person knowing" is searched as
# "without notifying the other party" too (index/lay_terms.yaml), which puts it first.
def test_vague_question_finds_emergency_protection_first(retriever):
    result = retriever.retrieve("can I apply without the other person knowing")
    assert result.kept[0].section == "Emergency Protection and Immediate Safety Measures"
    assert "without notifying the other party" in result.kept[0].text
    assert result.query.endswith("(without notifying the other party)")


def test_without_lay_terms_the_prior_puts_the_vague_question_second(retriever):
    result = retriever.with_weights(lay_terms=False).retrieve("can I apply without the other person knowing")
    assert result.query == "can I apply without the other person knowing"
    assert result.kept[0].section != "Emergency Protection and Immediate Safety Measures"
    assert "without notifying the other party" in result.kept[1].text


def test_without_the_prior_the_vague_question_finds_emergency_protection_first(retriever):
    result = retriever.with_weights(prior_weight=0.0, lay_terms=False).retrieve("can I apply without the other person knowing")
    assert result.kept[0].section == "Emergency Protection and Immediate Safety Measures"


NOTICE = "without notifying the other party"


def test_a_named_order_without_him_knowing_finds_the_passage_on_applying_without_notice(retriever):
    # P8's example: the named order pulls Legal Protections first, and MiniLM does not
    # link "without him knowing" to "without notifying"; the lay term brings it in.
    question = "Can I get a non-molestation order without him knowing?"
    assert not any(NOTICE in p.text for p in retriever.with_weights(lay_terms=False).retrieve(question, k=4).kept)
    assert any(NOTICE in p.text for p in retriever.retrieve(question, k=4).kept)


def test_a_question_with_no_lay_phrasing_is_searched_as_it_is(retriever):
    result = retriever.retrieve("How do I report stalking to the police?")
    assert result.query == "How do I report stalking to the police?"
    assert result.query_vector is not None


# The accused question ranked "Reporting" passages above its own section once BM25 had
# the weight the tuning split chose (0.3), and missed its section in the top 3 until the
# section prior retrained with round 6 of the real questions (session 11) lifted it.
CASES = [pytest.param(s, q, id=s) for s, q in QUESTIONS]


@pytest.mark.parametrize("section, question", CASES)
def test_each_section_end_question_finds_its_own_section_in_top_3(retriever, section, question):
    top3 = [p.section for p in retriever.retrieve(question, k=3).kept]
    assert section in top3


def test_result_keeps_rejected_passages_with_reasons_and_scores(retriever):
    result = retriever.retrieve("restraining order", k=2)
    assert len(result.kept) == 2
    assert result.kept[0].score >= result.kept[1].score
    assert {"dense", "bm25", "fused"} <= set(result.kept[0].scores)
    assert result.rejected and all(p.reason in ("below_floor", "beyond_top_k") for p in result.rejected)
    assert len(result.kept) + len(result.rejected) == 31


def test_floor_rejects_everything_for_unrelated_text(retriever):
    strict = retriever.with_weights(min_dense_similarity=0.5)
    result = strict.retrieve("recipe for lemon drizzle cake")
    assert result.kept == []
    assert all(p.reason == "below_floor" for p in result.rejected)


def test_bm25_weight_lifts_exact_terms(retriever):
    dense_only = retriever.with_weights(bm25_weight=0.0)
    result = retriever.retrieve("Family Law Act 1996 Section 44")
    hybrid = result.kept[0]
    assert "Family Law Act 1996" in hybrid.text
    assert hybrid.scores["bm25"] > 0.5
    assert hybrid.scores["bm25"] == max(p.scores["bm25"] for p in result.kept + result.rejected)
    assert dense_only.retrieve("Family Law Act 1996 Section 44").kept[0].scores["bm25"] == 0.0
