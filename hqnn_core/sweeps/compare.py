"""Equal-budget honesty: tune a hybrid, its classical twin and a raw-pixel baseline alike.

A comparison spec is a sweep spec (``base`` = the hybrid, ``space``, search, budget, seeds)
plus the baseline to tune::

    {"name": "digits-honest", "base": {...}, "space": {...}, "search": "bayes", "trials": 12,
     "minutes": 5, "seeds": [1, 2, 3],
     "baseline": "logistic",                                  # or "mlp"
     "baseline_space": {"baseline.C": {"log_range": [0.001, 100]}}}

Each arm — ``hybrid`` (the base as given), ``twin`` (:func:`~hqnn_core.learning.model.twin_config`
of every trial's configuration, the same space) and ``baseline`` — is a sweep with the same
number of trials, the same time cap, the same number of finalists and the same seeds, in
``<out>/<arm>/``; the best configuration of each (by validation accuracy, or by the mean
validation accuracy of the top ``finalists`` retrained on the seeds) is measured on the test
split. Seeds pair the arms (the same seed draws the same initialisation stream and
the data split is shared), so the differences are paired: mean and a 95% t-interval over seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hqnn_core.errors import ConfigError
from hqnn_core.learning.checkpoint import atomic_write_json
from hqnn_core.sweeps.results import TrialRow
from hqnn_core.sweeps.spec import BASELINE_FIELDS, SPEC_KEYS, SweepSpec
from hqnn_core.sweeps.stats import Interval, mean_std, paired_difference

ARMS = ("hybrid", "twin", "baseline")
COMPARE_JSON = "compare.json"
DEFAULT_BASELINE_SPACE = {
    "logistic": {"baseline.C": {"log_range": [0.001, 100.0]}},
    "mlp": {"baseline.hidden": [64, 128, 256], "baseline.alpha": {"log_range": [1e-5, 1e-2]},
            "baseline.lr": {"log_range": [3e-4, 3e-3]}},
}


@dataclass(frozen=True)
class CompareSpec:
    """Three sweep specs with one budget: ``arms[name]`` for hybrid, twin and baseline."""

    name: str
    arms: dict[str, SweepSpec]

    def to_dict(self) -> dict[str, Any]:
        hybrid = self.arms["hybrid"].to_dict()
        base = self.arms["baseline"]
        return {**{k: v for k, v in hybrid.items() if k != "variant"}, "baseline": base.variant,
                "baseline_space": base.to_dict()["space"]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CompareSpec":
        if not isinstance(data, Mapping):
            raise ConfigError("A comparison specification must be a JSON object.")
        allowed = [k for k in SPEC_KEYS if k != "variant"] + ["baseline", "baseline_space"]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ConfigError(f"Unknown key(s) in the comparison: {', '.join(unknown)}; allowed: "
                              f"{', '.join(allowed)}.")
        kind = data.get("baseline", "logistic")
        if kind not in BASELINE_FIELDS:
            raise ConfigError(f"baseline={kind!r} is not supported; choose one of: "
                              f"{', '.join(BASELINE_FIELDS)}.")
        common = {k: v for k, v in data.items() if k not in ("baseline", "baseline_space")}
        hybrid = SweepSpec.from_dict(common)
        if hybrid.base_config.model.kind == "classical":
            raise ConfigError("The base of a comparison must be a quantum model (hybrid or "
                              "quantum); its classical twin is tuned beside it.")
        twin = SweepSpec.from_dict({**common, "variant": "twin"})
        space = data.get("baseline_space", DEFAULT_BASELINE_SPACE[kind])
        search = hybrid.search if hybrid.search != "grid" else "random"
        trials = hybrid.n_trials() if hybrid.search == "grid" else hybrid.trials
        baseline = SweepSpec.from_dict({**common, "variant": kind, "space": space,
                                        "search": search, "trials": trials,
                                        "early_stopping": False})
        return cls(name=hybrid.name, arms={"hybrid": hybrid, "twin": twin, "baseline": baseline})

    @classmethod
    def from_json(cls, path: str | Path) -> "CompareSpec":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read the comparison file {path}: {exc.strerror}.") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                              f"{exc.msg}.") from exc
        return cls.from_dict(data)


@dataclass
class ArmResult:
    """One arm: its best configuration and its test accuracy on each seed."""

    arm: str
    status: str
    n_trials: int
    best: TrialRow | None
    final: list[TrialRow]
    search_seconds: float = 0.0  # the tuning alone
    wall_seconds: float = 0.0  # tuning and retraining on the seeds
    finalists: list[dict[str, Any]] = field(default_factory=list)  # results.finalist_scores

    @property
    def test_by_seed(self) -> dict[int, float]:
        return {int(r.seed): float(r.test_acc) for r in self.final  # type: ignore[arg-type]
                if r.seed is not None and r.test_acc is not None}

    @property
    def mean_std(self) -> tuple[float, float] | None:
        values = list(self.test_by_seed.values())
        return mean_std(values) if values else None

    @property
    def parameters(self) -> int | None:
        counts = [r.parameters for r in self.final if r.parameters is not None]
        return counts[0] if counts else None

    @property
    def train_seconds(self) -> float | None:
        times = [r.train_seconds for r in self.final if r.train_seconds is not None]
        return sum(times) / len(times) if times else None


@dataclass
class CompareResult:
    """All arms and the paired differences of the hybrid against the others."""

    name: str
    status: str
    arms: dict[str, ArmResult]
    differences: dict[str, Interval] = field(default_factory=dict)


def paired_differences(arms: Mapping[str, ArmResult]) -> dict[str, Interval]:
    """hybrid − twin and hybrid − baseline over the seeds all of them were measured on."""
    out: dict[str, Interval] = {}
    hybrid = arms["hybrid"].test_by_seed
    for other in ("twin", "baseline"):
        theirs = arms[other].test_by_seed
        seeds = sorted(set(hybrid) & set(theirs))
        if seeds:
            out[f"hybrid - {other}"] = paired_difference([hybrid[s] for s in seeds],
                                                         [theirs[s] for s in seeds])
    return out


def run_compare(spec: CompareSpec, out: str | Path, *, address: str | None = None,
                resume: bool = False, runs_root: str | Path | None = None,
                callbacks: Sequence[Callable[[str, Any], None]] = (),
                arms: Sequence[str] = ARMS) -> CompareResult:
    """Tune and retrain every arm in one Ray session; write ``<out>/compare.json``."""
    from hqnn_core.sweeps.run import ray_session, run_sweep

    folder = Path(out)
    results: dict[str, ArmResult] = {}
    status = "completed"
    with ray_session(address):
        for arm in arms:
            arm_folder = folder / arm
            again = resume and (arm_folder / "sweep.json").exists()
            outcome = run_sweep(spec.arms[arm], arm_folder, resume=again, runs_root=runs_root,
                                callbacks=[lambda e, a=arm: [cb(a, e) for cb in callbacks]])
            results[arm] = ArmResult(arm, outcome.status, len(outcome.trials), outcome.best,
                                     outcome.final, outcome.search_seconds,
                                     outcome.wall_seconds, outcome.finalists)
            if outcome.status != "completed":
                status = "interrupted"
                break
    result = CompareResult(spec.name, status, results, paired_differences(results)
                           if {"hybrid", "twin", "baseline"} <= set(results) else {})
    atomic_write_json(folder / COMPARE_JSON, compare_to_dict(result))
    return result


def compare_to_dict(result: CompareResult) -> dict[str, Any]:
    """A JSON form of the comparison (what compare.json holds)."""
    arms = {}
    for name, arm in result.arms.items():
        ms = arm.mean_std
        arms[name] = {"status": arm.status, "trials": arm.n_trials,
                      "best_params": arm.best.params if arm.best else None,
                      "best_val_acc": arm.best.val_acc if arm.best else None,
                      "test_by_seed": arm.test_by_seed, "test_mean": ms[0] if ms else None,
                      "test_std": ms[1] if ms else None, "parameters": arm.parameters,
                      "train_seconds": arm.train_seconds, "search_seconds": arm.search_seconds,
                      "wall_seconds": arm.wall_seconds, "finalists": arm.finalists}
    diffs = {k: {"mean": v.mean, "low": v.low, "high": v.high, "n": v.n, "level": v.level}
             for k, v in result.differences.items()}
    return {"name": result.name, "status": result.status, "arms": arms, "differences": diffs}


def compare_table(result: CompareResult) -> list[dict[str, Any]]:
    """One row per arm for a table: accuracy mean ± std, per seed, size, time, trials."""
    rows = []
    for name, arm in result.arms.items():
        ms = arm.mean_std
        rows.append({
            "model": name, "trials": arm.n_trials,
            "best validation": arm.best.val_acc if arm.best else None,
            "test mean": ms[0] if ms else None, "test std": ms[1] if ms else None,
            "per seed": arm.test_by_seed, "parameters": arm.parameters,
            "train s": arm.train_seconds,
            "best configuration": arm.best.params if arm.best else None})
    return rows


def _pt(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:+.2f}"


def compare_table_markdown(result: CompareResult) -> str:
    """The comparison as Markdown: the arms, then the paired differences with 95% intervals."""
    from hqnn_core.sweeps.report import markdown_table

    body = []
    for row in compare_table(result):
        mean, std = row["test mean"], row["test std"]
        acc = "—" if mean is None else f"{100 * mean:.2f}% ± {100 * std:.2f}"
        seeds = ", ".join(f"{100 * v:.2f}" for _, v in sorted(row["per seed"].items()))
        params = ", ".join(f"{k.split('.', 1)[1]}={v:.4g}" if isinstance(v, float)
                           else f"{k.split('.', 1)[1]}={v}"
                           for k, v in sorted((row["best configuration"] or {}).items()))
        val = row["best validation"]
        body.append([row["model"], row["trials"], "—" if val is None else f"{100 * val:.2f}%",
                     acc, seeds or "—", row["parameters"] or "—",
                     "—" if row["train s"] is None else f"{row['train s']:.1f}", params or "base"])
    text = markdown_table(["model", "trials", "best val", "test (mean ± std)", "per seed",
                           "parameters", "train s", "best configuration"], body)
    lines = [text, ""]
    for name, arm in result.arms.items():
        if len(arm.finalists) > 1:
            vals = ", ".join(f"{100 * f['val_mean']:.2f}%" for f in arm.finalists)
            lines.append(f"{name}: {len(arm.finalists)} finalists retrained on the seeds, mean "
                         f"validation {vals} (the first chosen)")
    for name, ci in result.differences.items():
        if ci.low is None:
            lines.append(f"{name}: {_pt(ci.mean)} pt (one seed, no interval)")
        else:
            lines.append(f"{name}: {_pt(ci.mean)} pt, 95% CI [{_pt(ci.low)}, {_pt(ci.high)}] "
                         f"(paired t over {ci.n} seeds)")
    if result.status != "completed":
        lines.append(f"status: {result.status}")
    return "\n".join(lines)
