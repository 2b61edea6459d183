"""The golden set stays consistent with the corpus (chunk ids, sections, split rule)."""

import subprocess
import sys

from eval.golden import load_golden
from tests.conftest import ROOT


def test_golden_set_validates_against_the_current_chunking():
    result = subprocess.run([sys.executable, "eval/data/validate_golden.py"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_splits_are_disjoint_and_cover_every_item():
    tuning, held_out, every = load_golden(split="tuning"), load_golden(split="held_out"), load_golden()
    assert {i.id for i in tuning}.isdisjoint({i.id for i in held_out})
    assert len(tuning) + len(held_out) == len(every) == 121
