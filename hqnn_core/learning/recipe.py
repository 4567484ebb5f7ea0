"""The training recipe's pieces: learning-rate schedules, parameter groups, early stopping.

``fit`` (``hqnn_core.learning.training``) uses them; each is a pure function of the config
and the run's history, so a resumed run takes the same decisions as an uninterrupted one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from hqnn_core.config import RunConfig
from hqnn_core.learning.checkpoint import read_safetensors, save_weights

STEP_GAMMA = 0.3
BEST_FILE = "best.safetensors"


def lr_at(cfg: RunConfig, step: int, epoch: int, total_steps: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) in ``epoch`` under the schedule.

    "warmup_cosine": linear from ``lr / W`` to ``lr`` over the first ``W = round(warmup *
    total_steps)`` steps, then a cosine down to 0 at ``total_steps``; "cosine": the cosine
    alone over all steps; "step": times 0.3 every third of the epochs; "none": constant.
    """
    t = cfg.train
    if t.schedule == "warmup_cosine":
        warm = round(t.warmup * total_steps)
        if step < warm:
            return t.lr * (step + 1) / warm
        return t.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total_steps - warm)))
    if t.schedule == "cosine":
        return t.lr * 0.5 * (1 + math.cos(math.pi * step / max(1, total_steps)))
    if t.schedule == "step":
        return t.lr * STEP_GAMMA ** (epoch // max(1, t.epochs // 3))
    return t.lr


def param_groups(model: nn.Module, cfg: RunConfig) -> list[dict[str, Any]]:
    """Optimizer groups: ``weight_decay`` on classical parameters, none on the circuit's
    angles and input scales unless ``train.decay_angles`` (one group when nothing differs)."""
    t = cfg.train
    layer = getattr(model, "quantum_layer", None)
    if t.decay_angles or t.weight_decay == 0 or layer is None:
        return [{"params": list(model.parameters()), "weight_decay": t.weight_decay}]
    angles = {id(p) for p in layer.parameters()}
    classical = [p for p in model.parameters() if id(p) not in angles]
    return [{"params": classical, "weight_decay": t.weight_decay},
            {"params": list(layer.parameters()), "weight_decay": 0.0}]


def best_epoch(epochs: list[dict[str, Any]]) -> int | None:
    """Index of the best epoch row by validation accuracy (ties: lower validation loss,
    then the earlier epoch); None without validation figures."""
    best, key = None, None
    for i, row in enumerate(epochs):
        if row.get("val_acc") is None:
            continue
        this = (row["val_acc"], -(row.get("val_loss") or 0.0))
        if key is None or this > key:
            best, key = i, this
    return best


def should_stop(cfg: RunConfig, epochs: list[dict[str, Any]]) -> bool:
    """Early stopping: ``train.patience`` epochs have passed without a better validation epoch."""
    patience = cfg.train.patience
    best = best_epoch(epochs)
    return patience is not None and best is not None and len(epochs) - 1 - best >= patience


class BestWeights:
    """The weights of the best validation epoch so far, kept for ``train.restore_best``.

    With a run folder they are also written to ``best.safetensors`` there, so a resumed
    run restores the same weights.
    """

    def __init__(self, cfg: RunConfig, run_dir: Path | None) -> None:
        self.enabled = cfg.train.restore_best
        self.path = run_dir / BEST_FILE if run_dir is not None else None
        self.state: dict[str, Tensor] | None = None

    def resume(self) -> None:
        """Read the best weights a stopped run left in its folder (if any)."""
        if self.enabled and self.path is not None and self.path.exists():
            self.state, _ = read_safetensors(self.path)

    def update(self, model: nn.Module, epochs: list[dict[str, Any]]) -> None:
        """Remember ``model``'s weights if the epoch just finished is the best one."""
        if not self.enabled or best_epoch(epochs) != len(epochs) - 1:
            return
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if self.path is not None:
            save_weights(self.path, model)

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights into ``model``; False if there are none to restore."""
        if not self.enabled or self.state is None:
            return False
        model.load_state_dict(self.state)
        return True

    def discard(self) -> None:
        """Delete the run folder's copy once the run is complete (its weights are saved)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
