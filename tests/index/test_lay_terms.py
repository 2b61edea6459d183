import pytest

from index.lay_terms import LayTerms
from ingest.errors import ConfigError

ADDED = "(without notifying the other party)"


@pytest.fixture(scope="module")
def terms():
    return LayTerms.load()


@pytest.mark.parametrize(
    "question",
    [
        "Can I get a non-molestation order without him knowing?",
        "can i apply without my ex finding out",
        "is it possible to get an injunction without telling her",
        "Can I apply behind his back?",
        "Will he be told if I apply for an order?",
        "can I do it without the other person knowing",
    ],
)
def test_asking_to_apply_without_the_other_person_knowing_also_searches_the_guidance_words(terms, question):
    assert terms.expand(question) == f"{question} {ADDED}"


@pytest.mark.parametrize(
    "question",
    [
        "What counts as harassment?",
        "he follows me without me knowing where he is",
        "my teenage daughter sneaks around behind their backs",
        "will he find out where I live now?",
        "he texts me without stopping",
    ],
)
def test_other_questions_are_searched_as_they_are(terms, question):
    assert terms.expand(question) == question


def test_a_curly_apostrophe_reads_as_a_straight_one(tmp_path):
    path = tmp_path / "terms.yaml"
    path.write_text('terms:\n  - {name: x, when: "he\'s gone", add: "left"}\n', encoding="utf-8")
    assert LayTerms.load(path).expand("he\u2019s gone") == "he\u2019s gone (left)"


def test_each_addition_is_added_once(tmp_path):
    path = tmp_path / "terms.yaml"
    path.write_text('terms:\n  - {name: a, when: "alpha", add: "same"}\n  - {name: b, when: "beta", add: "same"}\n', encoding="utf-8")
    assert LayTerms.load(path).expand("alpha beta") == "alpha beta (same)"


def test_an_empty_file_adds_nothing(tmp_path):
    path = tmp_path / "terms.yaml"
    path.write_text("", encoding="utf-8")
    assert LayTerms.load(path).expand("without him knowing") == "without him knowing"


@pytest.mark.parametrize(
    "text, message",
    [
        ('terms:\n  - {name: x, when: "(unclosed", add: "y"}\n', "bad pattern"),
        ('terms:\n  - {name: x, add: "y"}\n', "needs name, when and add"),
        ('terms:\n  - {name: x, when: "y", add: "  "}\n', "adds nothing"),
        ("terms: [\n", "Cannot read"),
    ],
)
def test_a_broken_file_is_a_clear_config_error(tmp_path, text, message):
    path = tmp_path / "terms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        LayTerms.load(path)
