"""The quality gate: floors per split, plus no big drop against the committed baseline.

`eval/thresholds.yaml` names the gated metrics, the split each floor holds on, and the
margin. `eval/baseline.json` holds the gated metrics of a reference run, per split
(written by `signpost eval --write-baseline`). A gated metric is compared with the
baseline in every split both runs have; one the baseline lacks is a failure, so a new
or renamed metric cannot slip past the comparison.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ingest.errors import ConfigError

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
BASELINE_FILE = Path(__file__).with_name("baseline.json")


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read the gate thresholds {path}: {type(exc).__name__}") from None
    floors = data.get("floors") if isinstance(data, dict) else None
    if not isinstance(floors, dict) or not all(isinstance(m, dict) for m in floors.values()):
        raise ConfigError(f"{path}: needs 'floors: {{split: {{metric: {{min|max: number}}}}}}'")
    return data


def load_baseline(path: Path = BASELINE_FILE) -> dict:
    """The baseline's metrics per split ({} when there is none yet)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the gate baseline {path}: {type(exc).__name__}") from None
    by_split = data.get("by_split") if isinstance(data, dict) else None
    if not isinstance(by_split, dict):
        raise ConfigError(f"{path}: needs a 'by_split' object (write it with `signpost eval --write-baseline`)")
    return by_split


def gated_metrics(thresholds: dict) -> dict[str, bool]:
    """Every gated metric name -> True when lower is better (a `max` rule)."""
    out: dict[str, bool] = {}
    for rules in thresholds["floors"].values():
        for name, rule in rules.items():
            out[name] = "max" in rule
    return out


def check_gate(by_split: dict[str, dict], thresholds: dict, baseline: dict[str, dict]) -> list[str]:
    """One line per failure; empty when the gate passes. `by_split`: split -> metrics."""
    failures = []
    margin = float(thresholds.get("margin", 0.05))
    for split, rules in thresholds["floors"].items():
        if split not in by_split:
            continue  # this run did not evaluate that split (e.g. `--split held_out`)
        for name, rule in rules.items():
            value = by_split[split].get(name)
            if value is None:
                failures.append(f"{name} ({split}): not computed")
                continue
            if "min" in rule and value < rule["min"]:
                failures.append(f"{name} ({split}): {value:.3f} is below the threshold {rule['min']}")
            if "max" in rule and value > rule["max"]:
                failures.append(f"{name} ({split}): {value:.3f} is above the threshold {rule['max']}")
    for split, metrics in by_split.items():
        for name, lower_is_better in gated_metrics(thresholds).items():
            value = metrics.get(name)
            if value is None:
                continue  # not computed for this split (floors above report the gated ones)
            base = baseline.get(split, {}).get(name)
            if base is None:
                failures.append(f"{name} ({split}): not in the baseline; rerun `signpost eval --write-baseline` and review the diff")
                continue
            worse = (value - base) if lower_is_better else (base - value)
            if worse > margin:
                failures.append(f"{name} ({split}): {value:.3f} dropped more than {margin} from the baseline {base:.3f}")
    return failures


def baseline_from(by_split: dict[str, dict], thresholds: dict, config: dict) -> dict:
    """The compact baseline file: gated metrics per split, and where they came from."""
    names = gated_metrics(thresholds)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": config.get("versions", {}),
        "by_split": {split: {n: m[n] for n in names if m.get(n) is not None} for split, m in by_split.items()},
    }
