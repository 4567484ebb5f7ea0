"""Atomic files of a run folder: JSON, model weights and training checkpoints (safetensors only).

Everything is written to a temporary file in the same folder and moved into place with
``os.replace``, so a reader sees either the old file or the new one, never half of one.
A checkpoint is one safetensors file: the model's tensors under ``model.``, the optimizer's
per-parameter state under ``optim.<index>.<name>``, the random generator's state under
``rng.*``, and every scalar (epoch, step, history, optimizer hyper-parameters) as JSON in
the safetensors metadata. Loading never executes code.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save
from torch import Tensor, nn

from hqnn_core.errors import RunError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run files are meant to be shared
        os.replace(tmp, path)
    except OSError as exc:
        raise RunError(f"Cannot write {path}: {exc.strerror}; check the folder is writable.") from exc


def atomic_write_json(path: Path, obj: Any, *, compact: bool = False) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically; ``compact`` for files rewritten
    often (indented JSON goes through the pure-Python encoder, ~10x slower, holding the GIL)."""
    text = json.dumps(obj, separators=(",", ":")) if compact else json.dumps(obj, indent=2)
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    """Read a JSON file of a run folder, raising RunError if it is missing or corrupt."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(f"{path} is missing; this folder is not a complete run.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is corrupt or unreadable; delete the run and train it again.") from exc


def _plain(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_weights(path: Path, model: nn.Module) -> None:
    """Save the model's ``state_dict`` (parameters and buffers) as safetensors, atomically."""
    atomic_write_bytes(path, st_save(_plain(model.state_dict())))


def read_safetensors(path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """All tensors and the metadata of a safetensors file; RunError if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path} is missing; this folder is not a complete run.")
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise RunError(f"{path} is corrupt; delete the run and train it again.") from exc
    return tensors, metadata


def load_weights(path: Path, model: nn.Module) -> None:
    """Load weights saved by :func:`save_weights` into ``model`` (names and shapes must match)."""
    tensors, _ = read_safetensors(path)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise RunError(
            f"{path} does not fit the model its config.json describes; the run is inconsistent."
        ) from exc


@dataclass
class Checkpoint:
    """Everything needed to continue a training run exactly where it stopped."""

    epoch: int  # the epoch in progress (0-based)
    batch: int  # batches of that epoch already done
    step: int  # optimizer steps done in total
    train_seconds: float
    rng_epoch: Tensor  # generator state at the start of ``epoch`` (rebuilds its shuffle)
    rng_now: Tensor  # generator state after the last finished batch
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    ckpt: Checkpoint) -> None:
    """Write model, optimizer and progress to one safetensors file, atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    for idx, state in opt_state["state"].items():
        for name, value in state.items():
            if value is None:
                continue
            tensors[f"optim.{idx}.{name}"] = torch.as_tensor(value)
    tensors["rng.epoch"] = ckpt.rng_epoch
    tensors["rng.now"] = ckpt.rng_now
    meta = {
        "epoch": ckpt.epoch, "batch": ckpt.batch, "step": ckpt.step,
        "train_seconds": ckpt.train_seconds, "history": ckpt.history,
        "param_groups": opt_state["param_groups"],
    }
    atomic_write_bytes(path, st_save(_plain(tensors), metadata={"hqnn": json.dumps(meta)}))


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> Checkpoint:
    """Restore model and optimizer from :func:`save_checkpoint`'s file and return the progress."""
    tensors, metadata = read_safetensors(path)
    try:
        meta = json.loads(metadata["hqnn"])
        model.load_state_dict(
            {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")},
            strict=True,
        )
        state: dict[int, dict[str, Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        return Checkpoint(
            epoch=int(meta["epoch"]), batch=int(meta["batch"]), step=int(meta["step"]),
            train_seconds=float(meta["train_seconds"]), rng_epoch=tensors["rng.epoch"],
            rng_now=tensors["rng.now"], history=meta["history"],
        )
    except (KeyError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise RunError(
            f"{path} does not match this run's configuration; delete it to train from scratch."
        ) from exc
