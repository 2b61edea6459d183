"""The evaluation data sets are what their build scripts make of the collected files,
and a test-only round (measured blind, README) never reaches training or tuning; a
tuning-only round (collected to tune on) never reaches held-out."""

import importlib.util
import json
import shutil

import pytest

from eval.real_questions import REAL_QUESTIONS_FILE, load_real_questions
from eval.triage_data import MESSAGES_FILE, load_messages
from ingest.jsonl import write_lines


def _build_script(path):
    spec = importlib.util.spec_from_file_location(f"build_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("committed", [MESSAGES_FILE, REAL_QUESTIONS_FILE], ids=["triage", "questions"])
def test_build_script_reproduces_the_committed_data_file(tmp_path, committed):
    build = _build_script(committed.parent / "build.py")
    write_lines(tmp_path / committed.name, build.build())
    assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), f"run python {committed.parent}/build.py"


def test_test_only_rounds_are_held_out_whole():
    triage_build = _build_script(MESSAGES_FILE.parent / "build.py")
    questions_build = _build_script(REAL_QUESTIONS_FILE.parent / "build.py")
    messages = [i for i in load_messages() if i.round in triage_build.TEST_ONLY_ROUNDS]
    questions = [q for q in load_real_questions() if q.round in questions_build.TEST_ONLY_ROUNDS]
    assert len(messages) >= 300 and len(questions) >= 30
    assert {i.split for i in messages} == {"held_out"}
    assert {q.split for q in questions} == {"held_out"}


def test_train_only_rounds_are_train_whole_and_leave_held_out_as_it_was():
    triage_build = _build_script(MESSAGES_FILE.parent / "build.py")
    messages = load_messages()
    late = [i for i in messages if i.round in triage_build.TRAIN_ONLY_ROUNDS]
    assert len(late) >= 300
    assert {i.split for i in late} == {"train"}
    assert not {i.group for i in late} & {i.group for i in messages if i.split == "held_out"}


def test_tuning_only_rounds_are_tuning_whole():
    questions_build = _build_script(REAL_QUESTIONS_FILE.parent / "build.py")
    questions = [q for q in load_real_questions() if q.round in questions_build.TUNING_ONLY_ROUNDS]
    assert len(questions) >= 50
    assert {q.split for q in questions} == {"tuning"}


def test_a_quote_found_again_in_a_later_round_never_replaces_the_earlier_message(tmp_path):
    """Files are read by name, where round14_* comes before round2_*: a later round's copy
    of a quote must still be the one dropped (session 21: an NSPCC quote reprinted in the
    press came back in round 14 and took a training message's place)."""
    folder = tmp_path / "triage"
    shutil.copytree(MESSAGES_FILE.parent, folder)
    build = _build_script(folder / "build.py")
    build.HERE = folder
    earlier = next(json.loads(line) for line in (folder / "collected" / "round2_danger.jsonl").read_text(encoding="utf-8").splitlines())
    again = {**earlier, "id": "r99-001", "source": "https://example.org/reprinted"}
    (folder / "collected" / "round99_again.jsonl").write_text(json.dumps(again) + "\n", encoding="utf-8")
    ids = {item["id"] for item in build.build()}
    assert earlier["id"] in ids and "r99-001" not in ids
