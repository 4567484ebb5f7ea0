"""A sweep's results table: one row per trial, written as ``results.json`` and ``results.csv``.

Trial status is one of :data:`TRIAL_STATUSES`: ``pending`` (created, not started),
``running``, ``completed``, ``early-stopped`` (ASHA cut it at a rung), ``stopped`` (the
time budget or an interruption ended it; a resumed sweep continues an interrupted trial),
``failed`` (its worker died or it raised) and ``invalid`` (an impossible mix of values).
The best trial is the completed one with the highest validation accuracy (ties: the
lower validation loss, then the faster one); test accuracy appears only in the final re-training on the spec's seeds.
With several finalists (``SweepSpec.finalists``) the top trials are all retrained on the seeds
and the one with the best mean validation accuracy over its seeds is chosen (:func:`chosen`):
on a small validation split one lucky trial's score says less than three seeds' mean.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from hqnn_core.learning.checkpoint import atomic_write_bytes, atomic_write_json, read_json

TRIAL_STATUSES = ("pending", "running", "completed", "early-stopped", "stopped", "failed",
                  "invalid")
FINISHED = ("completed", "early-stopped", "failed", "invalid")
RESULTS_JSON, RESULTS_CSV, FINAL_JSON = "results.json", "results.csv", "final.json"


@dataclass
class TrialRow:
    """One trial of a sweep (or one seed of the final re-training)."""

    trial_id: str
    params: dict[str, Any]
    status: str = "pending"
    val_acc: float | None = None
    val_loss: float | None = None
    best_val_acc: float | None = None
    epochs: int = 0
    train_seconds: float | None = None
    run_id: str | None = None
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    seed: int | None = None
    test_acc: float | None = None
    parameters: int | None = None
    node: str | None = None
    pid: int | None = None
    curve: list[float] = field(default_factory=list)  # val_acc per epoch

    @property
    def wall_seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["wall_seconds"] = self.wall_seconds
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrialRow":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def best_row(rows: Iterable[TrialRow]) -> TrialRow | None:
    """The completed trial with the highest validation accuracy.

    Ties (common on small validation splits, e.g. several trials at 100%) go to the lower
    validation loss, then to less training time.
    """
    done = [r for r in rows if r.status == "completed" and r.val_acc is not None]
    return max(done, key=_rank) if done else None


def _rank(r: TrialRow) -> tuple[float, float, float]:
    return (r.val_acc if r.val_acc is not None else -math.inf,
            -(r.val_loss if r.val_loss is not None else math.inf), -(r.train_seconds or math.inf))


def finalist_rows(rows: Iterable[TrialRow], n: int) -> list[TrialRow]:
    """The ``n`` best trials with distinct parameters, best first: completed trials, then, if
    fewer than ``n`` completed, trials the time budget stopped (ranked by their last
    validation accuracy; their retraining on the seeds decides). ASHA's early-stopped
    trials are never finalists."""
    rows = list(rows)
    out: list[TrialRow] = []
    for status in ("completed", "stopped"):
        for r in sorted((r for r in rows if r.status == status and r.val_acc is not None),
                        key=_rank, reverse=True):
            if len(out) < n and all(r.params != o.params for o in out):
                out.append(r)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def finalist_scores(final: Iterable[TrialRow]) -> list[dict[str, Any]]:
    """Per configuration retrained on the seeds: its params, seeds done and mean validation
    accuracy and loss over them, best first (the first is :func:`chosen`'s choice)."""
    groups: list[tuple[dict[str, Any], list[TrialRow]]] = []
    for r in final:
        if r.status != "completed" or r.val_acc is None:
            continue
        for params, members in groups:
            if params == r.params:
                members.append(r)
                break
        else:
            groups.append((r.params, [r]))
    scores = [{"params": params, "seeds": sorted(m.seed for m in members if m.seed is not None),
               "val_mean": _mean([m.val_acc for m in members]),  # type: ignore[misc]
               "val_loss_mean": _mean([m.val_loss for m in members if m.val_loss is not None])}
              for params, members in groups]
    return sorted(scores, key=lambda s: (s["val_mean"], -(s["val_loss_mean"]
                                                          if not math.isnan(s["val_loss_mean"])
                                                          else math.inf)), reverse=True)


def chosen(trials: Sequence[TrialRow], final: Sequence[TrialRow]
           ) -> tuple[TrialRow | None, list[TrialRow]]:
    """The selected configuration (its search row) and its rows of the final re-training.

    Before any re-training, :func:`best_row`; then the retrained configuration whose seeds
    have the best mean validation accuracy (ties: the lower mean validation loss). Test
    accuracy plays no part.
    """
    scores = finalist_scores(final)
    if not scores:
        return best_row(trials), list(final)
    params = scores[0]["params"]
    rows = [r for r in trials if r.params == params and r.val_acc is not None]
    return (max(rows, key=_rank) if rows else None), [r for r in final if r.params == params]


def best_so_far(rows: Sequence[TrialRow]) -> list[tuple[int, float]]:
    """(trial number, best validation accuracy so far) in order of finishing, for a curve."""
    finished = sorted((r for r in rows if r.ended is not None and r.val_acc is not None
                       and r.status in ("completed", "early-stopped")), key=lambda r: r.ended)
    out, best = [], -math.inf
    for i, r in enumerate(finished, 1):
        best = max(best, r.best_val_acc if r.best_val_acc is not None else r.val_acc)
        out.append((i, best))
    return out


def table_rows(rows: Sequence[TrialRow], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Flat rows for a table or CSV: trial, status, one column per parameter, numbers, run."""
    out = []
    for r in rows:
        flat: dict[str, Any] = {"trial": r.trial_id, "status": r.status}
        flat.update({k: r.params.get(k) for k in keys})
        if r.seed is not None:
            flat["seed"] = r.seed
        flat.update(val_acc=r.val_acc, epochs=r.epochs, train_seconds=r.train_seconds,
                    wall_seconds=None if r.wall_seconds is None else round(r.wall_seconds, 3),
                    run_id=r.run_id, error=r.error)
        if r.test_acc is not None:
            flat["test_acc"] = r.test_acc
        out.append(flat)
    return out


def write_rows(folder: Path, rows: Sequence[TrialRow], keys: Sequence[str], *,
               json_name: str = RESULTS_JSON, csv_name: str | None = RESULTS_CSV) -> None:
    """Write the table atomically as JSON (full rows) and CSV (flat rows)."""
    atomic_write_json(folder / json_name, {"trials": [r.to_dict() for r in rows]})
    if csv_name is None:
        return
    flat = table_rows(rows, keys)
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or ["trial"])
    writer.writeheader()
    writer.writerows(flat)
    atomic_write_bytes(folder / csv_name, buf.getvalue().encode("utf-8"))


def read_rows(folder: Path, json_name: str = RESULTS_JSON) -> list[TrialRow]:
    """The rows of ``folder/json_name`` (empty when the file does not exist yet)."""
    path = Path(folder) / json_name
    if not path.is_file():
        return []
    return [TrialRow.from_dict(d) for d in read_json(path).get("trials", [])]
