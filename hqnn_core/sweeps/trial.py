"""The worker side of a sweep: one Ray Tune trial is one normal run in the run store.

:func:`train_trial` is the Tune function trainable. It trains ``spec.config_for(params)``
(or its classical twin, or a raw-pixel baseline) with :func:`hqnn_core.learning.training.fit`
into the run folder ``<sweep id>-<trial id>`` tagged with the sweep, and reports to Tune
once per epoch, after that epoch's checkpoint is on disk::

    {"epoch": 1-based, "val_acc", "val_loss", "loss", "acc", "train_seconds", "run_id",
     "pid", "node", "host"}   # node = the Ray node id

and once more when the run has finished (``"finished": True`` with the final ``val_acc``,
``train_seconds``, ``parameters`` and, for the final re-training only, ``test_acc``). A
trial restarted by a resumed sweep finds its folder and continues from its checkpoint; one
whose run had already completed reports that run's saved result without training.
Test accuracy of search trials is never reported: selection only sees validation.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqnn_core.errors import ConfigError

ROLE_SEARCH, ROLE_FINAL = "search", "final"


@dataclass(frozen=True)
class TrialContext:
    """What every trial of one sweep shares (sent to the workers once)."""

    sweep_id: str
    runs_root: str
    spec: dict[str, Any]
    role: str = ROLE_SEARCH


def _report(metrics: dict[str, Any]) -> None:
    from ray import tune

    tune.report(metrics)


def _tune_stop_event() -> threading.Event | None:
    """The event Tune sets when it ends this trial (a private Ray detail, so optional).

    Without it a stopped trial trains on until its next report; with actor reuse its
    worker then has to be replaced instead of taking the next trial.
    """
    try:
        from ray.train._internal.session import get_session

        event = getattr(get_session(), "stop_event", None)
    except Exception:  # noqa: BLE001 - any change inside Ray only costs speed
        return None
    return event if isinstance(event, threading.Event) else None


def trial_run_id(sweep_id: str, trial_id: str, role: str) -> str:
    """The run-store id of one trial's run folder."""
    return f"{sweep_id}-{'final-' if role == ROLE_FINAL else ''}{trial_id}"


def train_trial(config: dict[str, Any], ctx: TrialContext) -> None:
    """Tune trainable: train one configuration of the sweep and report its validation accuracy."""
    import ray
    import torch
    from ray import tune

    from hqnn_core.qiskit_thread import load_qiskit
    from hqnn_core.sweeps.spec import SweepSpec

    torch.set_num_threads(1)
    load_qiskit()  # qiskit must be first imported on a thread that outlives this trial's
    spec = SweepSpec.from_dict(ctx.spec)
    params = dict(config.get("params", {}))
    seed = config.get("seed")
    trial_id = tune.get_context().get_trial_id() or f"local{os.getpid()}"
    common = {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
              "host": socket.gethostname()}
    if spec.is_baseline:
        _baseline_trial(spec, params, seed, ctx, common)
        return
    try:
        cfg = spec.config_for({**params, "train.seed": seed} if seed is not None else params)
        if spec.variant == "twin":
            from hqnn_core.learning.model import twin_config

            cfg = twin_config(cfg)
    except ConfigError as exc:  # an impossible mix of values: a trial that scores nothing
        _report({"epoch": 1, "val_acc": 0.0, "finished": True, "invalid": str(exc), **common})
        return
    _fit_trial(cfg, ctx, trial_id, params, seed, common)


def _fit_trial(cfg: Any, ctx: TrialContext, trial_id: str, params: dict[str, Any],
               seed: int | None, common: dict[str, Any]) -> None:
    from hqnn_core.learning.checkpoint import CHECKPOINT_FILE
    from hqnn_core.learning.runs import RunStore
    from hqnn_core.learning.training import fit

    store = RunStore(ctx.runs_root)
    run_id = trial_run_id(ctx.sweep_id, trial_id, ctx.role)
    tags = {"sweep": ctx.sweep_id, "trial": trial_id, "role": ctx.role}
    if seed is not None:
        tags["seed"] = str(seed)
    run_dir = store.new_run_dir(cfg, run_id=run_id, tags=tags, exist_ok=True)
    last: dict[str, Any] = {}
    stop = threading.Event()
    tune_stop = _tune_stop_event()

    def on_event(event: Any) -> None:
        if event.kind == "batch":
            if tune_stop is not None and tune_stop.is_set():
                stop.set()  # Tune ended this trial (ASHA, budget, Ctrl-C): stop within a batch
        elif event.kind == "epoch":
            last.clear()
            last.update(epoch=event.epoch + 1, val_acc=event.val_acc, val_loss=event.val_loss,
                        loss=event.loss,
                        acc=event.acc, train_seconds=round(event.elapsed, 3))
        elif event.kind == "checkpoint" and last:  # the epoch's files are on disk
            _report({**last, "run_id": run_id, **common})
            last.clear()

    m = _completed_metrics(run_dir)
    if m is None:  # a run that finished before a Stop is reported again, never refitted
        resume = (run_dir / CHECKPOINT_FILE).exists()
        result = fit(cfg, run_dir=run_dir, callbacks=[on_event], resume=resume, stop_event=stop)
        store.refresh(run_id)
        if result.status == "stopped":
            return
        m = result.metrics
    final = {"epoch": m.get("epochs_done", cfg.train.epochs), "finished": True, "run_id": run_id,
             "val_acc": m.get("val_accuracy"), "val_loss": _final_val_loss(m),
             "train_seconds": m.get("train_seconds"),
             "parameters": (m.get("parameters") or {}).get("total"), **common}
    if ctx.role == ROLE_FINAL:
        final["test_acc"] = m.get("test_accuracy")
    _report(final)


def _completed_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The saved metrics of a run folder whose training completed, else None.

    Tune can restore a trial whose last report it had not yet recorded when a Stop came (the
    run had already finished); fitting it again would only re-evaluate it, and with its best
    weights already discarded it could rewrite the run's chosen epoch and accuracy.
    """
    from hqnn_core.errors import RunError
    from hqnn_core.learning.checkpoint import METRICS_FILE, read_json

    path = run_dir / METRICS_FILE
    if not path.is_file():
        return None
    try:
        metrics = read_json(path)
    except RunError:  # unreadable: train it (again) from its checkpoint
        return None
    return metrics if metrics.get("status") == "completed" else None


def _final_val_loss(metrics: dict[str, Any]) -> float | None:
    """The validation loss of the model the run ends with (a tie-breaker between trials)."""
    if metrics.get("val_loss") is not None:
        return float(metrics["val_loss"])
    epochs = (metrics.get("history") or {}).get("epoch") or []
    return epochs[-1].get("val_loss") if epochs else None


def _baseline_trial(spec: Any, params: dict[str, Any], seed: int | None, ctx: TrialContext,
                    common: dict[str, Any]) -> None:
    from hqnn_core.sweeps.baseline import fit_baseline

    started = time.perf_counter()
    out = fit_baseline(spec.base_config.data, spec.variant, spec.baseline_params(params),
                       seed=seed if seed is not None else spec.base_config.train.seed,
                       with_test=ctx.role == ROLE_FINAL)
    final = {"epoch": 1, "finished": True, "val_acc": out["val_acc"],
             "train_seconds": round(time.perf_counter() - started, 3),
             "parameters": out["parameters"], **common}
    if ctx.role == ROLE_FINAL:
        final["test_acc"] = out["test_acc"]
    _report(final)
