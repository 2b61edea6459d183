"""The chat page and the widget in Debian chromium: answers, safety, privacy, embedding, quick exit."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE_JS, EMBED_SANDBOX

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "SENTINEL-7f3a9"


def ask(where, question: str):
    where.get_by_label("Your question").fill(question)
    where.get_by_role("button", name="Ask", exact=True).click()
    answer = where.locator("#sp-answer .sp-answer")
    answer.wait_for(timeout=30000)
    return answer


def storage(page) -> dict:
    return {
        "local": page.evaluate("localStorage.length"),
        "session": page.evaluate("sessionStorage.length"),
        "indexeddb": page.evaluate("indexedDB.databases().then(d => d.length)"),
        "cookies": len(page.context.cookies()),
    }


def test_answer_shows_citations_disclaimer_and_leaves_no_trace(web, context):
    page = context.new_page()
    page.goto(web["app"] + "/")
    expect(page.get_by_text("In danger now? Call 999")).to_be_visible()
    expect(page.get_by_text("National Stalking Helpline (Suzy Lamplugh Trust): 0808 802 0300")).to_be_visible()
    answer = ask(page, "Can I get a restraining order to stop the stalking?")
    assert "[1]" in answer.locator(".sp-text").inner_text()
    first = answer.locator("details.sp-cite").first
    passage = first.locator("blockquote")
    expect(passage).to_be_hidden()
    first.locator("summary").click()
    expect(passage).to_be_visible()
    assert len(passage.inner_text()) > 40
    assert first.locator("summary").inner_text().startswith("[1] ")
    assert answer.locator(".sp-disclaimer").inner_text().startswith("This is general information")
    page.wait_for_timeout(300)
    assert storage(page) == {"local": 0, "session": 0, "indexeddb": 0, "cookies": 0}
    assert SENTINEL not in page.url
    assert context.recorder.non_loopback() == []
    assert context.recorder.errors() == []


def test_emergency_notice_comes_before_the_answer(web, context):
    page = context.new_page()
    page.goto(web["app"] + "/")
    answer = ask(page, "He's outside my house right now")
    notice = answer.locator(".sp-notice-emergency")
    assert "999, then press 55" in notice.inner_text()
    assert notice.bounding_box()["y"] < answer.locator(".sp-text").bounding_box()["y"]
    expect(answer.locator(".sp-disclaimer")).to_be_visible()


def test_a_pasted_story_over_the_limit_is_refused_with_its_danger_notice(web, context):
    # The box lets the whole story through (a browser cuts pasted text at maxlength), so
    # the danger at its end reaches triage.
    story = "We split up two years ago and he still messages me most weeks and turns up at my work. " * 40
    message = story + "Right now he is outside my door with a knife and says he will kill me."
    assert 3000 < len(message) < 12000
    page = context.new_page()
    page.goto(web["app"] + "/")
    answer = ask(page, message)
    assert "999, then press 55" in answer.locator(".sp-notice-emergency").inner_text()
    assert "too long" in answer.inner_text()


@pytest.mark.parametrize("path", ["/", "/widget/"])
def test_question_box_has_spellcheck_autocomplete_and_autocorrect_off(web, context, path):
    page = context.new_page()
    page.goto(web["app"] + path)
    box = page.get_by_label("Your question")
    box.focus()
    for name, value in (("spellcheck", "false"), ("autocomplete", "off"), ("autocorrect", "off"), ("autocapitalize", "off")):
        assert box.get_attribute(name) == value, name


def test_crisis_notice_shows_samaritans_before_the_answer(web, context):
    page = context.new_page()
    page.goto(web["app"] + "/widget/")
    answer = ask(page, "i cant do this anymore i want to end it all")
    notice = answer.locator(".sp-notice-crisis")
    assert "116 123" in notice.inner_text() and notice.get_attribute("role") == "alert"


def test_suggested_question_asks_it(web, context):
    page = context.new_page()
    page.goto(web["app"] + "/")
    page.get_by_role("button", name="Can I apply for an emergency protection order without the other person knowing?").click()
    answer = page.locator("#sp-answer .sp-answer")
    answer.wait_for(timeout=30000)
    assert "You asked: Can I apply for an emergency protection order" in answer.inner_text()
    assert answer.locator("details.sp-cite").count() >= 1


def test_question_is_shown_as_text_and_never_logged(web, context, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    page = context.new_page()
    page.goto(web["app"] + "/")
    answer = ask(page, f'<img src=x onerror="document.title=1"> *{SENTINEL}* $x$ [a](javascript:1)')
    assert "<img src=x" in answer.inner_text() and answer.locator("img").count() == 0
    assert answer.locator("a").count() == 0
    out, err = capfd.readouterr()
    assert SENTINEL not in out + err
    assert not any(SENTINEL in r.getMessage() for r in caplog.records)


def test_phone_width_has_no_sideways_scrolling(web, browser):
    ctx = browser.new_context(viewport={"width": 375, "height": 800})
    page = ctx.new_page()
    page.goto(web["app"] + "/")
    ask(page, "Can I get a restraining order to stop the stalking?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("button", name="Leave this site")).to_be_visible()
    ctx.close()


def test_widget_works_in_an_allow_listed_iframe(web, context):
    page = context.new_page()
    page.goto(f"{web['partner']}/embed")
    frame = page.frame_locator("#w")
    answer = ask(frame, "Can I get a restraining order to stop the stalking?")
    expect(answer.locator(".sp-disclaimer")).to_be_visible()
    assert context.recorder.non_loopback() == []
    assert not [t for _, t in context.recorder.console if "Content Security Policy" in t]


@pytest.mark.parametrize("site,path", [("other", "/widget/"), ("partner", "/")])
def test_framing_is_blocked_elsewhere(web, context, site, path):
    """Not allow-listed: blocked. The full page (/) may only be framed by itself."""
    page = context.new_page()
    page.goto(f"{web[site]}/embed?path={quote(path)}")
    page.wait_for_function("document.body.dataset.ready === '1'")
    child = [f for f in page.frames if f != page.main_frame]
    assert len(child) == 1 and child[0].url == "chrome-error://chromewebdata/"
    assert any("frame-ancestors" in t for _, t in context.recorder.console)


def _embed(page, web):
    page.goto(f"{web['partner']}/embed?sandbox={quote(EMBED_SANDBOX)}")
    page.wait_for_function("document.body.dataset.ready === '1'")
    page.frame_locator("#w").get_by_role("button", name="Leave this site").wait_for()


def test_leave_button_in_iframe_moves_the_whole_window(web, context):
    page = context.new_page()
    _embed(page, web)
    page.frame_locator("#w").get_by_role("button", name="Leave this site").click()
    page.wait_for_url(web["exit"], timeout=5000)


def test_shift_three_times_in_iframe_moves_the_whole_window(web, context):
    page = context.new_page()
    _embed(page, web)
    page.wait_for_timeout(300)
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(web["exit"], timeout=5000)


def test_leave_button_replaces_the_history_entry(web, context):
    page = context.new_page()
    page.goto(web["exit"] + "?before=1")
    page.goto(web["app"] + "/")
    button = page.get_by_role("button", name="Leave this site")
    button.wait_for()
    length = page.evaluate("history.length")
    button.click()
    page.wait_for_url(web["exit"])
    assert page.evaluate("history.length") == length  # Back does not return to Signpost
    page.go_back()
    assert page.url == web["exit"] + "?before=1"


@pytest.mark.parametrize("path", ["/", "/widget/"])
def test_no_serious_accessibility_violations(web, browser, path):
    ctx = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    page = ctx.new_page()
    page.goto(web["app"] + path)
    ask(page, "He's outside my house right now")
    # Contrast is judged on the settled page: under load axe could sample the answer
    # mid fade-in (Gradio animates new content) and see half-transparent text.
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["impact"], v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    ctx.close()


def test_screenshot(web, browser, tmp_path):
    """Desktop screenshot of an answer; UPDATE_SCREENSHOT=1 copies it to docs/screenshot.png."""
    for width, name in ((1280, "desktop"), (375, "phone")):
        ctx = browser.new_context(viewport={"width": width, "height": 900})
        page = ctx.new_page()
        page.goto(web["app"] + "/")
        answer = ask(page, "Can I get a restraining order to stop the stalking?")
        answer.locator("details.sp-cite summary").first.click()
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=name == "phone")
        ctx.close()
    assert (tmp_path / "desktop.png").stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "desktop.png", ROOT / "docs" / "screenshot.png")
