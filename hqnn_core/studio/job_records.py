"""What a training job reports: one progress record per model, and consistent snapshots.

The worker of a :class:`hqnn_core.studio.jobs.TrainingJob` keeps one ``ModelProgress`` per
model (the quantum one and, when asked for, its classical twin, trained side by side) and
replaces it under the job's lock; ``JobSnapshot`` is the copy a page reads. Nothing here
imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATUSES = ("queued", "running", "stopping", "stopped", "completed", "failed")
ACTIVE = ("queued", "running", "stopping")
QUANTUM, TWIN = "quantum", "classical twin"
# Misclassified test images an Evaluation keeps for the gallery (metrics.json lists up to
# learning.training.MAX_MISCLASSIFIED of them by index; the images are held in memory here).
GALLERY_IMAGES = 24


@dataclass(frozen=True)
class Evaluation:
    """Test-set results of a finished model: accuracy, confusion matrix, worst mistakes."""

    accuracy: float
    confusion: np.ndarray  # (K, K) counts; rows = true class, columns = predicted class
    class_names: tuple[str, ...]
    misclassified_images: np.ndarray  # (M, C, H, W) float in [0, 1]
    misclassified_true: np.ndarray  # (M,) int
    misclassified_pred: np.ndarray  # (M,) int


@dataclass(frozen=True)
class ModelProgress:
    """Progress of one model (quantum or twin) inside a job, copied out of the worker."""

    label: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    elapsed: float = 0.0
    batches: list[dict[str, Any]] = field(default_factory=list)
    epochs_history: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None
    done: bool = False
    evaluation: Evaluation | None = None

    @property
    def fraction(self) -> float:
        """Share of this model's optimisation steps done, in [0, 1]."""
        if self.done:
            return 1.0
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def history(self) -> dict[str, list[dict[str, Any]]]:
        """A metrics-like dict ``{"batches": [...], "epochs": [...]}`` for the chart builders."""
        return {"batches": self.batches, "epochs": self.epochs_history}


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state; the quantum model's numbers are on top."""

    status: str
    quantum: ModelProgress
    twin: ModelProgress | None
    eta_seconds: float | None
    error: str | None
    message: str
    maps: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # label -> EmbeddingFrames

    @property
    def epoch(self) -> int:
        return self.quantum.epoch

    @property
    def step(self) -> int:
        return self.quantum.step

    @property
    def total_steps(self) -> int:
        return self.quantum.total_steps

    @property
    def batches(self) -> list[dict[str, Any]]:
        return self.quantum.batches

    @property
    def epochs(self) -> list[dict[str, Any]]:
        return self.quantum.epochs_history

    @property
    def run_dir(self) -> Path | None:
        return self.quantum.run_dir

    @property
    def active(self) -> bool:
        """True while the worker is (or is about to be) training."""
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        """Share of the whole job done: the models train side by side, so the one behind."""
        return min(p.fraction for p in self.models())

    def models(self) -> tuple[ModelProgress, ...]:
        """The quantum model's progress, then the twin's when it is trained."""
        return (self.quantum,) if self.twin is None else (self.quantum, self.twin)

    def histories(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Label -> metrics-like dict of every model trained so far."""
        out = {self.quantum.label: self.quantum.history}
        if self.twin is not None and (self.twin.batches or self.twin.epochs_history):
            out[self.twin.label] = self.twin.history
        return out


def copy_progress(progress: ModelProgress) -> ModelProgress:
    """A snapshot of a progress record whose history lists the worker keeps appending to."""
    return replace(progress, batches=list(progress.batches),
                   epochs_history=list(progress.epochs_history))


def event_record(event: Any) -> dict[str, Any]:
    """The numbers of a batch or epoch event as a plain dict (None entries dropped)."""
    keys = ("epoch", "step", "loss", "acc", "val_loss", "val_acc", "elapsed")
    return {k: getattr(event, k) for k in keys if getattr(event, k, None) is not None}


def evaluation_from_metrics(metrics: dict[str, Any], x_test: torch.Tensor,
                            *, limit: int = GALLERY_IMAGES) -> Evaluation | None:
    """The test report ``fit`` wrote into ``metrics``, with the misclassified images."""
    if metrics.get("confusion_matrix") is None:
        return None
    wrong = list(metrics.get("misclassified") or [])[:limit]
    index = torch.tensor([w["index"] for w in wrong], dtype=torch.long)
    return Evaluation(accuracy=float(metrics.get("test_accuracy") or 0.0),
                      confusion=np.asarray(metrics["confusion_matrix"], dtype=np.int64),
                      class_names=tuple(str(c) for c in metrics.get("class_names", ())),
                      misclassified_images=x_test[index].numpy(),
                      misclassified_true=np.asarray([w["label"] for w in wrong], dtype=np.int64),
                      misclassified_pred=np.asarray([w["pred"] for w in wrong], dtype=np.int64))
