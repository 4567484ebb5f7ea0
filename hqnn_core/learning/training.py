"""``fit()``: train a classifier from a RunConfig, with events, a stop event and checkpoints.

One ``torch.Generator`` seeded from ``cfg.train.seed`` drives parameter init, shuffling,
augmentation and dropout, so the same config and seed give the same numbers; its state
is checkpointed with the weights and optimizer, so a resumed run continues exactly.
The recipe (learning-rate schedule, parameter groups, early stopping with the best
validation epoch's weights restored before the test) lives in
:mod:`hqnn_core.learning.recipe`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import Tensor, nn

from hqnn_core.learning.checkpoint import (CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE,
                                  Checkpoint, atomic_write_json, load_checkpoint, read_json,
                                  save_checkpoint, save_weights)
from hqnn_core.config import RunConfig
from hqnn_core.errors import DataError, RunError
from hqnn_core.learning.resources import check as check_resources
from hqnn_core.learning.model import Classifier, build_model, count_parameters, init_parameters
from hqnn_core.learning.recipe import BestWeights, best_epoch, lr_at, param_groups, should_stop
from hqnn_core.simulator.threads import thread_scope, threads_for

log = logging.getLogger(__name__)

EVAL_BATCH = 256
MAX_MISCLASSIFIED = 500
__all__ = ["TrainEvent", "FitResult", "fit", "evaluate", "test_report", "lr_at"]


@dataclass(frozen=True)
class TrainEvent:
    """One progress report; ``kind`` is start | batch | epoch | checkpoint | status | end.

    The "start" event's ``extra["model"]`` is the model being trained (for callbacks that
    look at it between epochs, e.g. ``hqnn_core.diagnostics.embedding.EmbeddingTracker``).
    """

    kind: str
    epoch: int
    step: int
    total_steps: int
    loss: float | None = None
    acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    elapsed: float = 0.0
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitResult:
    """What ``fit`` returns: the trained model (eval mode), its metrics, folder and status."""

    model: Classifier
    metrics: dict[str, Any]
    run_dir: Path | None
    status: str


Callback = Callable[[TrainEvent], None]


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float, Tensor]:
    """Mean cross-entropy, accuracy and predicted classes of ``model`` on ``(x, y)``."""
    model.eval()
    preds, total_loss = [], 0.0
    for i in range(0, len(x), EVAL_BATCH):
        logits = model(x[i:i + EVAL_BATCH])  # (b, K)
        total_loss += float(nn.functional.cross_entropy(logits, y[i:i + EVAL_BATCH],
                                                        reduction="sum"))
        preds.append(logits.argmax(dim=1))
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    n = max(1, len(x))
    return total_loss / n, float((pred == y).float().sum()) / n, pred


def test_report(pred: Tensor, y: Tensor, class_names: list[str]) -> dict[str, Any]:
    """Accuracy, per-class accuracy, confusion matrix (rows = true class) and misclassified samples."""
    k = len(class_names)
    confusion = torch.zeros(k, k, dtype=torch.long)
    confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    per_class = {}
    for i, name in enumerate(class_names):
        total = int(confusion[i].sum())
        per_class[str(name)] = int(confusion[i, i]) / total if total else None
    wrong = torch.nonzero(pred != y).flatten()[:MAX_MISCLASSIFIED]
    return {
        "test_accuracy": float((pred == y).float().mean()) if len(y) else None,
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
        "misclassified": [{"index": int(i), "label": int(y[i]), "pred": int(pred[i])}
                          for i in wrong],
    }


def _load_data(cfg: RunConfig, data: Any, emit: Callable[..., None]) -> Any:
    if data is None:
        from hqnn_core.data.registry import load_dataset

        emit("status", message=f"Loading the {cfg.data.name} dataset")
        data = load_dataset(cfg.data)
    if len(data.y_train) == 0:
        raise DataError("The training split is empty; increase data.train_size.")
    return data


def _prepare_run_dir(run_dir: Path, cfg: RunConfig, resume: bool) -> None:
    cfg_path = run_dir / CONFIG_FILE
    if resume and cfg_path.exists():
        stored = RunConfig.from_saved(read_json(cfg_path))
        if stored != cfg:
            raise RunError(
                f"{run_dir} was trained with a different configuration; resume it with its own "
                "config.json or start a new run folder."
            )
    atomic_write_json(cfg_path, cfg.to_dict())


def model_threads(model: Classifier, batch: int) -> int:
    """The thread count for a step of ``model`` on ``batch`` samples (``threads_for``, taken
    afresh at every step)."""
    layer = model.quantum_layer
    return threads_for(layer.n_qubits if layer is not None else 0, batch)


def _route_job_status(model: torch.nn.Module, emit: Callable[..., None]) -> None:
    """IBM job status and queue position reach the callbacks as "status" events."""
    layer = getattr(model, "quantum_layer", None)
    if layer is None or layer.backend != "ibm":
        return
    from hqnn_core.backends import set_status_callback

    def report(info: dict[str, Any]) -> None:
        queue = info.get("queue_position")
        where = f", position {queue} in the queue" if queue is not None else ""
        emit("status", message=f"IBM job {info.get('job_id')} on {info.get('backend')}: "
                               f"{info.get('status')}{where}", extra=dict(info))

    set_status_callback(layer, report)


def make_optimizer(model: torch.nn.Module, cfg: RunConfig) -> torch.optim.Optimizer:
    """The run's optimizer over ``param_groups``; fused (one kernel for every parameter's
    update, measured 1.3x faster a step at 4 qubits) where this torch supports it."""
    t = cfg.train
    opt_cls = torch.optim.Adam if t.optimizer == "adam" else torch.optim.SGD
    extra = {"momentum": 0.9} if t.optimizer == "sgd" else {}
    try:
        return opt_cls(param_groups(model, cfg), lr=t.lr, fused=True, **extra)
    except (RuntimeError, TypeError):  # torch < 2.4 on the CPU, or a dtype it does not fuse
        return opt_cls(param_groups(model, cfg), lr=t.lr, **extra)


def fit(cfg: RunConfig, *, run_dir: str | Path | None = None, callbacks: Iterable[Callback] = (),
        stop_event: threading.Event | None = None, resume: bool = False,
        data: Any = None) -> FitResult:
    """Train the model ``cfg`` describes; write a run folder to ``run_dir`` if given.

    ``data`` is a ``DatasetSplit`` (loaded from ``cfg.data`` when None). Events go to every
    callback; ``stop_event.is_set()`` is checked before every batch: the run then saves a
    checkpoint and returns with status "stopped". ``resume=True`` continues from
    ``run_dir``'s checkpoint exactly as if never interrupted. On IBM Quantum the layer's
    runtime Batch is closed when fit returns or raises (a later prediction opens a new one).
    """
    built: list[Classifier] = []
    try:
        return _fit(cfg, run_dir, list(callbacks), stop_event, resume, data, built)
    finally:
        layers = [m.quantum_layer for m in built if m.quantum_layer is not None]
        if any(layer.backend != "exact" for layer in layers):
            from hqnn_core.backends import close_backend

            for layer in layers:
                close_backend(layer)


def _fit(cfg: RunConfig, run_dir: str | Path | None, callbacks: list[Callback],
         stop_event: threading.Event | None, resume: bool, data: Any,
         built: list[Classifier]) -> FitResult:
    check_resources(cfg)  # one sentence naming the limit, before data or layer are allocated
    run_dir = Path(run_dir) if run_dir is not None else None
    t = cfg.train
    progress = {"epoch": 0, "step": 0, "total": 0, "seconds": 0.0}

    def emit(kind: str, **kw: Any) -> None:
        event = TrainEvent(kind=kind, epoch=progress["epoch"], step=progress["step"],
                           total_steps=progress["total"], elapsed=progress["seconds"], **kw)
        for cb in callbacks:
            cb(event)

    data = _load_data(cfg, data, emit)
    class_names = [str(c) for c in data.class_names]
    x_train, y_train = data.x_train, data.y_train
    n_train = len(y_train)
    batches_per_epoch = math.ceil(n_train / t.batch_size)
    progress["total"] = total_steps = batches_per_epoch * t.epochs

    gen = torch.Generator().manual_seed(t.seed)
    model = build_model(cfg, n_classes=len(class_names), image_shape=tuple(data.image_shape),
                        x_train=x_train)
    built.append(model)
    init_parameters(model, gen)
    _route_job_status(model, emit)
    optimizer = make_optimizer(model, cfg)
    best = BestWeights(cfg, run_dir)

    ckpt = Checkpoint(epoch=0, batch=0, step=0, train_seconds=0.0, rng_epoch=gen.get_state(),
                      rng_now=gen.get_state(), history={"batch": [], "epoch": []})
    if run_dir is not None:
        _prepare_run_dir(run_dir, cfg, resume)
        if resume and (run_dir / CHECKPOINT_FILE).exists():
            ckpt = load_checkpoint(run_dir / CHECKPOINT_FILE, model, optimizer)
            gen.set_state(ckpt.rng_now)
            best.resume()
            log.info("Resuming %s at epoch %d, batch %d", run_dir, ckpt.epoch, ckpt.batch)
    history = ckpt.history
    augment = None
    if cfg.data.augment:
        from hqnn_core.data.registry import augment_batch as augment

    def base_metrics(status: str) -> dict[str, Any]:
        return {
            "status": status, "dataset": data.name, "class_names": class_names,
            "image_shape": list(data.image_shape), "n_train": n_train,
            "n_val": len(data.y_val), "n_test": len(data.y_test),
            "parameters": count_parameters(model), "epochs_done": ckpt.epoch,
            "steps": ckpt.step, "train_seconds": round(ckpt.train_seconds, 3),
            "history": history,
        }

    def checkpoint(status: str) -> None:
        ckpt.rng_now = gen.get_state()
        if run_dir is None:
            return
        save_checkpoint(run_dir / CHECKPOINT_FILE, model, optimizer, ckpt)
        atomic_write_json(run_dir / METRICS_FILE, base_metrics(status), compact=True)
        emit("checkpoint", message=str(run_dir / CHECKPOINT_FILE))

    threads = model_threads(model, t.batch_size)
    progress.update(epoch=ckpt.epoch, step=ckpt.step, seconds=ckpt.train_seconds)
    emit("start", message=f"{n_train} training images, {total_steps} steps",
         extra={"parameters": count_parameters(model), "resumed_at": ckpt.step, "model": model})
    status = "completed"
    started = time.perf_counter() - ckpt.train_seconds
    stopped_early = should_stop(cfg, history["epoch"])
    while ckpt.epoch < t.epochs and status == "completed" and not stopped_early:
        epoch = ckpt.epoch
        if ckpt.batch == 0:
            ckpt.rng_epoch = gen.get_state()
        else:
            gen.set_state(ckpt.rng_epoch)
        perm = torch.randperm(n_train, generator=gen)
        if ckpt.batch:
            gen.set_state(ckpt.rng_now)
        model.train()
        for b in range(ckpt.batch, batches_per_epoch):
            if stop_event is not None and stop_event.is_set():
                status = "stopped"
                break
            idx = perm[b * t.batch_size:(b + 1) * t.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if augment is not None:
                xb = augment(xb, gen)
            lr = lr_at(cfg, ckpt.step, epoch, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with thread_scope(threads):  # hqnn's count for the whole step, then the caller's
                optimizer.zero_grad(set_to_none=True)
                logits = model(xb)  # (b, K)
                loss = nn.functional.cross_entropy(logits, yb)
                loss.backward()
                loss_value = loss.item()
                optimizer.step()
            acc = float((logits.argmax(dim=1) == yb).float().mean())
            ckpt.batch, ckpt.step = b + 1, ckpt.step + 1
            ckpt.train_seconds = time.perf_counter() - started
            progress.update(epoch=epoch, step=ckpt.step, seconds=ckpt.train_seconds)
            history["batch"].append({"epoch": epoch, "step": ckpt.step, "loss": loss_value,
                                     "acc": acc, "n": len(yb), "lr": lr,
                                     "elapsed": round(ckpt.train_seconds, 4)})
            emit("batch", loss=loss_value, acc=acc)
        if status == "stopped":
            break
        rows = [r for r in history["batch"] if r["epoch"] == epoch]
        n_seen = sum(r["n"] for r in rows)
        ep_loss = sum(r["loss"] * r["n"] for r in rows) / n_seen
        ep_acc = sum(r["acc"] * r["n"] for r in rows) / n_seen
        val_loss = val_acc = None
        if len(data.y_val):
            with thread_scope(model_threads(model, EVAL_BATCH)):
                val_loss, val_acc, _ = evaluate(model, data.x_val, data.y_val)
        ckpt.epoch, ckpt.batch = epoch + 1, 0
        history["epoch"].append({"epoch": epoch, "step": ckpt.step, "loss": ep_loss,
                                 "acc": ep_acc, "val_loss": val_loss, "val_acc": val_acc,
                                 "elapsed": round(ckpt.train_seconds, 4)})
        best.update(model, history["epoch"])
        stopped_early = should_stop(cfg, history["epoch"])
        emit("epoch", loss=ep_loss, acc=ep_acc, val_loss=val_loss, val_acc=val_acc)
        checkpoint("running")

    model.eval()
    if status == "stopped":
        if ckpt.batch == 0:  # nothing of this epoch done: resume must redraw its shuffle
            gen.set_state(ckpt.rng_epoch)
        checkpoint("stopped")
        metrics = base_metrics("stopped")
        metrics["test_accuracy"] = None
    else:
        chosen = best_epoch(history["epoch"])
        restored = best.restore(model)
        if not restored:
            chosen = len(history["epoch"]) - 1
        emit("status", message="Evaluating on the test split"
             + (f" with the weights of epoch {chosen + 1}" if restored else ""))
        with thread_scope(model_threads(model, EVAL_BATCH)):
            test_loss, _, pred = evaluate(model, data.x_test, data.y_test)
        metrics = base_metrics("completed")
        metrics.update(test_report(pred, data.y_test, class_names), test_loss=test_loss,
                       best_epoch=chosen, stopped_early=stopped_early)
        if history["epoch"]:
            metrics["val_accuracy"] = history["epoch"][chosen]["val_acc"]
    if run_dir is not None:
        save_weights(run_dir / WEIGHTS_FILE, model)
        atomic_write_json(run_dir / METRICS_FILE, metrics)
        if status == "completed":
            best.discard()
    emit("end", loss=None, acc=metrics.get("test_accuracy"), message=status,
         extra={k: v for k, v in metrics.items() if k != "history"})
    return FitResult(model=model, metrics=metrics, run_dir=run_dir, status=status)
