"""The quality gate: thresholds plus no big drop against the committed baseline."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
BASELINE_FILE = Path(__file__).with_name("baseline.json")


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_baseline(path: Path = BASELINE_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def check_gate(metrics: dict, thresholds: dict, baseline: dict) -> list[str]:
    """One line per failure; empty when the gate passes."""
    failures = []
    margin = float(thresholds.get("margin", 0.05))
    for name, rule in thresholds["metrics"].items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: not computed")
            continue
        if "min" in rule and value < rule["min"]:
            failures.append(f"{name}: {value:.3f} is below the threshold {rule['min']}")
        if "max" in rule and value > rule["max"]:
            failures.append(f"{name}: {value:.3f} is above the threshold {rule['max']}")
        base = baseline.get(name)
        if base is not None:
            worse = (value - base) if "max" in rule else (base - value)
            if worse > margin:
                failures.append(f"{name}: {value:.3f} dropped more than {margin} from the baseline {base:.3f}")
    return failures
