"""The golden set stays consistent with the corpus (chunk ids, sections, split rule)."""

import subprocess
import sys

import pytest

from eval.golden import load_golden
from ingest.errors import ConfigError
from tests.conftest import ROOT


def test_golden_set_validates_against_the_current_chunking():
    result = subprocess.run([sys.executable, "eval/data/validate_golden.py"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_splits_are_disjoint_and_cover_every_item():
    tuning, held_out, every = load_golden(split="tuning"), load_golden(split="held_out"), load_golden()
    assert {i.id for i in tuning}.isdisjoint({i.id for i in held_out})
    assert len(tuning) + len(held_out) == len(every) == 121


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x1", "split": "tuning"', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "x1", "split": "tuning", "kind": "direct", "question": "q?", "reference": "r"}', "missing or not text: expected_status"),
        ('{"id": "x1", "split": "train", "kind": "direct", "question": "q?", "reference": "r", "expected_status": "answered"}', "split must be one of tuning, held_out"),
    ],
)
def test_malformed_golden_file_is_a_one_line_config_error(tmp_path, line, message):
    path = tmp_path / "golden.jsonl"
    path.write_text('{"id": "x0", "split": "tuning", "kind": "direct", "question": "q?", "reference": "r", "expected_status": "answered"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_golden(path)
    assert str(err.value) == f"{path}:2: {message}"


def test_real_questions_the_two_labelling_passes_dispute_are_marked():
    from eval.real_questions import REAL_QUESTIONS_FILE, load_real_questions
    from ingest.jsonl import read_lines

    items = load_real_questions()
    second = {d["id"]: d for _, d in read_lines(REAL_QUESTIONS_FILE.parent / "second_pass.jsonl", "the second pass")}
    assert set(second) == {i.id for i in items}, "the second pass covers every real question, and only those"
    for i in items:
        assert i.disputed == ((i.coverage == "none") != (second[i.id]["coverage"] == "none")), i.id
    assert {i.split for i in items if i.disputed} == {"tuning", "held_out"}
