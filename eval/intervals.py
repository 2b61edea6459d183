"""How far a held-out rate could move by chance: bootstrap intervals over sources.

Held-out items are not independent. A triage message comes with its typing variants,
and one page gives several real questions; resampling items one by one would make
the intervals too narrow. So whole groups (a message's source group, a question's page)
are resampled with replacement, and the rate is taken over every item of the drawn
groups. Deterministic: a fixed seed, so the same results give the same interval.

Read an interval as "a fresh batch like this one could well read anywhere in here":
a figure a hair under its target (0.945 against 0.95) with an interval that spans the
target has not shown that it misses, nor that it meets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 20261130


def grouped_interval(values: Sequence[float], groups: Sequence[str], resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> tuple[float, float] | None:
    """The `level` percentile interval of the mean of `values` (hits as True/False give a
    rate), resampling `groups` (one per value). None when there is nothing to rate."""
    if len(values) != len(groups):
        raise ValueError("one group per value")
    if not len(values):
        return None
    names, index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    picks = np.random.default_rng(seed).integers(0, len(names), size=(resamples, len(names)))
    drawn = np.zeros((resamples, len(names)))  # how often each group is drawn, per resample
    np.add.at(drawn, (np.arange(resamples)[:, None], picks), 1.0)
    totals = np.bincount(index, weights=np.asarray(values, dtype=float), minlength=len(names))
    sizes = np.bincount(index, minlength=len(names)).astype(float)
    means = (drawn @ totals) / (drawn @ sizes)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def paired_difference_interval(a: Sequence[bool], b: Sequence[bool], groups: Sequence[str], **kw) -> tuple[float, float] | None:
    """The interval of rate(a) - rate(b) over the same items (two searches on one
    question set), resampling the groups once for both, so what the items share cancels."""
    if len(a) != len(b):
        raise ValueError("a and b must rate the same items")
    return grouped_interval([float(x) - float(y) for x, y in zip(a, b, strict=True)], groups, **kw)


def describe_intervals(metrics: dict, intervals: dict, how: str) -> str:
    """One line: each figure, as measured, with its 95% interval. A difference
    ("a_minus_b", from paired_difference_interval) is signed."""
    parts = []
    for name, span in intervals.items():
        if span is None:
            continue
        if "_minus_" in name:
            first, _, second = name.partition("_minus_")
            a, b = metrics.get(first), metrics.get(f"{first.rsplit('_', 1)[0]}_{second}")
            value = a - b if a is not None and b is not None else None
            parts.append(f"{name} {'' if value is None else f'{value:+.3f} '}({span[0]:+.3f} to {span[1]:+.3f})")
        else:
            value = metrics.get(name)
            parts.append(f"{name} {'' if value is None else f'{value:.3f} '}({span[0]:.3f} to {span[1]:.3f})")
    return f"95% intervals ({how}): " + "; ".join(parts)
