"""What the model learns: test images mapped into the core's output space, per epoch.

The core is the quantum layer (or, in the classical twin, its classical stand-in); its
outputs for a fixed subset of test images are projected onto their first two principal
components. Each new frame is rotated/reflected onto the previous one (orthogonal
Procrustes), so the points move with the learning and not with PCA's arbitrary signs.

``EmbeddingTracker`` is a ``fit()`` callback: the "start" event's ``extra["model"]`` is the
model being trained; a frame is computed then (before training) and after every epoch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MAX_POINTS = 300


@dataclass(frozen=True)
class EmbeddingFrame:
    """One map: 2-D points of the test subset, their classes and the model's predictions."""

    epoch: int  # epochs trained when the map was taken (0 = before training)
    points: np.ndarray  # (M, 2)
    labels: np.ndarray  # (M,) true class index
    predictions: np.ndarray  # (M,) predicted class index
    explained: tuple[float, float]  # share of the readout's variance along each axis
    class_names: tuple[str, ...] = ()

    @property
    def accuracy(self) -> float:
        """Share of the subset predicted right."""
        return float((self.labels == self.predictions).mean()) if len(self.labels) else 0.0


def subset_indices(labels: torch.Tensor, limit: int = MAX_POINTS, seed: int = 0) -> torch.Tensor:
    """A fixed random subset of at most ``limit`` positions of ``labels``."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    return order[:limit].sort().values


def principal_plane(outputs: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Centred ``outputs (M, m)`` projected on their two main directions, and the share
    of variance each carries (one output column gives a zero second axis)."""
    centred = outputs - outputs.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    points = np.zeros((len(outputs), 2))
    k = min(2, vt.shape[0])
    points[:, :k] = centred @ vt[:k].T
    total = float((s**2).sum())
    shares = [(float(s[i] ** 2) / total if total > 0 and i < len(s) else 0.0) for i in range(2)]
    return points, (shares[0], shares[1])


def align(points: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """``points`` rotated/reflected to best match ``previous`` (orthogonal Procrustes)."""
    if previous is None or previous.shape != points.shape:
        return points
    u, _, vt = np.linalg.svd(points.T @ previous)
    return points @ (u @ vt)


@torch.no_grad()
def readout_map(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                epoch: int = 0, previous: EmbeddingFrame | None = None,
                class_names: tuple[str, ...] = ()) -> EmbeddingFrame:
    """The map of ``images`` in ``model.core``'s output space (model left in its mode)."""
    was_training = model.training
    model.eval()
    try:
        outputs = model.core(model.encode(images))
        predictions = model.head(outputs).argmax(dim=1)
    finally:
        model.train(was_training)
    points, explained = principal_plane(outputs.detach().double().cpu().numpy())
    points = align(points, previous.points if previous is not None else None)
    return EmbeddingFrame(epoch=epoch, points=points, labels=labels.cpu().numpy().copy(),
                          predictions=predictions.cpu().numpy(), explained=explained,
                          class_names=tuple(class_names))


class EmbeddingTracker:
    """A ``fit()`` callback keeping one ``EmbeddingFrame`` per epoch (thread-safe reads)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor,
                 class_names: tuple[str, ...] = ()) -> None:
        self.images, self.labels, self.class_names = images, labels, tuple(class_names)
        self._model: Any = None
        self._frames: list[EmbeddingFrame] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if event.kind == "start":
            self._model = event.extra.get("model")
            if not _runs_exactly(self._model):
                self._model = None
            self._take(event.epoch)
        elif event.kind == "epoch":
            self._take(event.epoch + 1)

    def _take(self, epoch: int) -> None:
        if self._model is None or not len(self.labels):
            return
        with self._lock:
            previous = self._frames[-1] if self._frames else None
        frame = readout_map(self._model, self.images, self.labels, epoch=epoch,
                            previous=previous, class_names=self.class_names)
        with self._lock:
            self._frames = [f for f in self._frames if f.epoch != epoch] + [frame]

    def frames(self) -> tuple[EmbeddingFrame, ...]:
        """The frames so far, oldest first."""
        with self._lock:
            return tuple(self._frames)


def _runs_exactly(model: Any) -> bool:
    """Maps are taken only when the core runs locally and exactly (no shots, no queue)."""
    if model is None:
        return False
    layer = getattr(model, "quantum_layer", None)
    return layer is None or getattr(layer, "backend", "exact") == "exact"
