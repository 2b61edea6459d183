"""The chat page's own logic, without a browser (tests/browser has the page itself)."""

from __future__ import annotations

from app.answer import Answer, Status
from app.ui import is_context


def test_only_a_question_that_was_read_becomes_context_for_a_follow_up():
    answered = Answer.fixed(Status.NOT_COVERED, "not covered", "off_topic")
    assert is_context("Can I get a restraining order?", answered)
    # After "too long", the shorter question sent next must not be read as its follow-up.
    assert not is_context("word " * 1000, Answer.fixed(Status.INVALID_QUESTION, "too long", "too_long"))
    assert not is_context("Can I get a restraining order?", Answer.fixed(Status.ERROR, "down", "unavailable"))
    assert not is_context("   ", answered)
