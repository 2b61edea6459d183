import pytest

from app.triage import SafetyTriage, normalise_message


@pytest.fixture(scope="module")
def triage():
    return SafetyTriage()


def test_apostrophes_are_restored_for_matching_only():
    assert normalise_message("hes outside and im scared, someones in my garden, u ok?") == "he's outside and i'm scared, someone's in my garden, you ok?"
    assert normalise_message("Help\u2019s here; the shed is old") == "Help's here; the shed is old"


@pytest.mark.parametrize(
    "message",
    ["hes outside my house right now", "im terrified hes still behind me now", "someones in my garden and im on my own", "he said hes going to kill me"],
)
def test_messages_typed_without_apostrophes_are_danger(triage, message):
    assert triage.assess(message).danger


@pytest.mark.parametrize(
    "message",
    ["what counts as a threat if hes my ex?", "im asking for a friend: is following someone a crime?", "Can u get an injunction against a neighbour?"],
)
def test_ordinary_questions_typed_the_same_way_are_not_danger(triage, message):
    assert not triage.assess(message).danger


def test_out_of_area_and_jurisdiction_are_detected(triage):
    assert triage.assess("my landlord is evicting me").out_of_area == ["tenancy and housing disputes"]
    assert not triage.assess("my landlord is evicting me").in_scope
    assert triage.assess("Can I get an SPO in Scotland?").other_jurisdiction
