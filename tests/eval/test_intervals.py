"""Bootstrap intervals over groups (eval/intervals.py)."""

from __future__ import annotations

import pytest

from eval.intervals import describe_intervals, grouped_interval, paired_difference_interval


def test_interval_holds_the_rate_and_is_repeatable():
    hits = [True] * 90 + [False] * 10
    groups = [f"page{n}" for n in range(100)]
    low, high = grouped_interval(hits, groups)
    assert low < 0.9 < high and 0.0 < high - low < 0.2
    assert grouped_interval(hits, groups) == (low, high)
    assert grouped_interval([True] * 5, ["a", "b", "c", "d", "e"]) == (1.0, 1.0)
    assert grouped_interval([], []) is None


def test_a_message_and_its_variants_move_together_so_the_interval_is_wider():
    # the same 100 hits and 10 misses: each on its own, or the misses as two messages with five variants each
    hits = [True] * 90 + [False] * 10
    alone = grouped_interval(hits, [f"m{n}" for n in range(100)])
    with_variants = grouped_interval(hits, [f"m{n // 5}" for n in range(100)])
    assert with_variants[1] - with_variants[0] > alone[1] - alone[0]


def test_paired_difference_cancels_what_both_searches_share():
    groups = [f"q{n}" for n in range(60)]
    same = [n % 3 == 0 for n in range(60)]
    assert paired_difference_interval(same, same, groups) == (0.0, 0.0)
    better = [True] * 60
    low, high = paired_difference_interval(better, same, groups)
    assert 0.0 < low < 2 / 3 < high <= 1.0
    with pytest.raises(ValueError):
        paired_difference_interval([True], [True, False], ["a"])
    with pytest.raises(ValueError):
        grouped_interval([True, False], ["a"])


def test_description_shows_each_figure_its_interval_and_a_signed_difference():
    line = describe_intervals(
        {"section_hit@1_hybrid": 0.75, "section_hit@1_dense": 0.5, "off_topic_declined_rate": 0.6},
        {"section_hit@1_hybrid_minus_dense": (0.1, 0.4), "off_topic_declined_rate": (0.45, 0.75), "lead_section_accuracy": None},
        "resampling pages",
    )
    assert line == "95% intervals (resampling pages): section_hit@1_hybrid_minus_dense +0.250 (+0.100 to +0.400); off_topic_declined_rate 0.600 (0.450 to 0.750)"
