"""Plain-text and Markdown summaries of a finished sweep (CLI, README, notes)."""

from __future__ import annotations

from typing import Any, Sequence

from hqnn_core.sweeps.results import TrialRow
from hqnn_core.sweeps.stats import mean_std

TOP = 10


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def trials_table(rows: Sequence[TrialRow], keys: Sequence[str], top: int = TOP) -> str:
    """The best ``top`` trials by validation accuracy, then a count of the others."""
    ranked = sorted(rows, key=lambda r: -(r.val_acc if r.val_acc is not None else -1.0))
    body = [[r.trial_id, r.status, *(_value(r.params.get(k)) for k in keys), _pct(r.val_acc),
             r.epochs, "—" if r.train_seconds is None else f"{r.train_seconds:.1f}"]
            for r in ranked[:top]]
    text = markdown_table(["trial", "status", *keys, "val acc", "epochs", "train s"], body)
    if len(ranked) > top:
        text += f"\n({len(ranked) - top} more trials in results.csv)"
    return text


def final_line(final: Sequence[TrialRow]) -> str:
    """Test accuracy over the final seeds: mean ± std and each seed."""
    done = [r for r in final if r.test_acc is not None]
    if not done:
        return "no final re-training yet"
    mean, std = mean_std([r.test_acc for r in done])  # type: ignore[misc]
    seeds = ", ".join(f"seed {r.seed}: {_pct(r.test_acc)}" for r in sorted(done, key=lambda r: r.seed or 0))
    return f"test accuracy {100 * mean:.2f}% ± {100 * std:.2f} ({seeds})"


def sweep_summary(outcome: Any) -> str:
    """What ``hqnn sweep`` prints when it ends."""
    keys = sorted({k for r in outcome.trials for k in r.params})
    counts: dict[str, int] = {}
    for r in outcome.trials:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines = [f"sweep {outcome.sweep_id}: {outcome.status}, {len(outcome.trials)} trials ("
             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f") in "
             f"{outcome.wall_seconds:.0f} s; folder {outcome.folder}", "",
             trials_table(outcome.trials, keys), ""]
    if outcome.best is not None:
        params = ", ".join(f"{k}={_value(v)}" for k, v in sorted(outcome.best.params.items()))
        lines.append(f"best (validation {_pct(outcome.best.val_acc)}): {params or 'the base config'}")
        lines.append(f"retrained on the spec's seeds: {final_line(outcome.final)}")
    return "\n".join(lines)
