"""The chat page's own logic, without a browser (tests/browser has the page itself)."""

from __future__ import annotations

import json

from app.answer import Answer, Status
from app.guard import HARD_CAP_FACTOR
from app.settings import Settings
from app.ui import dump_history, is_context, parse_history
from app.web.security import MAX_BODY_BYTES


def test_only_a_question_that_was_read_becomes_context_for_a_follow_up():
    answered = Answer.fixed(Status.NOT_COVERED, "not covered", "off_topic")
    assert is_context("Can I get a restraining order?", answered)
    # After "too long", the shorter question sent next must not be read as its follow-up.
    assert not is_context("word " * 1000, Answer.fixed(Status.INVALID_QUESTION, "too long", "too_long"))
    assert not is_context("Can I get a restraining order?", Answer.fixed(Status.ERROR, "down", "unavailable"))
    assert not is_context("   ", answered)
    # Nor one Signpost cannot read: search would take it for English.
    assert not is_context("On ma nóż i kopie w drzwi, pomocy", Answer.fixed(Status.NOT_COVERED, "English only", "language"))


def test_the_longest_event_the_page_sends_fits_under_the_post_cap():
    # A question at the box's limit and ten earlier ones, all in Urdu (2 bytes a
    # character in UTF-8), as the browser sends them (JSON, raw UTF-8).
    question = "\u06cc" * (Settings().max_question_chars * HARD_CAP_FACTOR)
    history = parse_history(json.dumps(["\u06cc" * 5000] * 30))
    event = {"data": [question, dump_history(history)], "event_data": None, "fn_index": 0, "trigger_id": 5, "session_hash": "abcdefghij"}
    assert len(json.dumps(event, ensure_ascii=False).encode()) < MAX_BODY_BYTES
    assert parse_history(dump_history(history)) == history
