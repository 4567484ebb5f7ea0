"""Background training jobs for the UI: one worker thread, a stop event, a progress record.

A ``TrainingJob`` (a ``background.BackgroundJob``) runs :func:`hqnn_core.learning.training.fit`
in a daemon thread. The worker only
writes to a lock-protected progress record; readers call :meth:`TrainingJob.snapshot`,
which copies that record under the lock, so a page can poll it at any time. With
``twin=True`` the classical twin (:func:`hqnn_core.learning.model.twin_config`) is trained after
the quantum model in the same worker, on the same data.

``get_registry()`` is a process-wide map from a browser-session key to that session's
job, so a page that is reloaded or revisited finds the running job instead of starting a
second one, and two sessions train independently. Nothing here imports streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio import warmup
from hqnn_core.studio.background import BackgroundJob

log = logging.getLogger(__name__)

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
        """Share of the whole job done; the twin, when trained, counts as a tenth of it."""
        if self.twin is None:
            return self.quantum.fraction
        return 0.9 * self.quantum.fraction + 0.1 * self.twin.fraction

    def histories(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Label -> metrics-like dict of every model trained so far."""
        out = {self.quantum.label: self.quantum.history}
        if self.twin is not None and (self.twin.batches or self.twin.epochs_history):
            out[self.twin.label] = self.twin.history
        return out


def _copy(progress: ModelProgress) -> ModelProgress:
    """A snapshot of a progress record whose history lists the worker keeps appending to."""
    return replace(progress, batches=list(progress.batches),
                   epochs_history=list(progress.epochs_history))


def _record(event: Any) -> dict[str, Any]:
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


class TrainingJob(BackgroundJob):
    """Train ``cfg`` (and optionally its classical twin) in a background daemon thread."""

    what = "Training"
    thread_name = "hqnn-training"

    def __init__(self, cfg: RunConfig, runs_root: Path, *, twin: bool = False,
                 callbacks: Sequence[Callable[[Any], None]] = ()) -> None:
        """``callbacks`` also receive every ``TrainEvent`` (in the worker thread)."""
        super().__init__()
        self.cfg = cfg
        self.runs_root = Path(runs_root)
        self.twin = twin
        self._extra_callbacks = tuple(callbacks)
        self._stop = threading.Event()
        self._status = "queued"
        self._error: str | None = None
        self._message = "Waiting to start."
        self._segment_start = 0.0
        self._segment_step0 = 0
        self._progress = {QUANTUM: ModelProgress(QUANTUM, epochs=cfg.train.epochs)}
        if twin:
            self._progress[TWIN] = ModelProgress(TWIN, epochs=cfg.train.epochs)
        self._trackers: dict[str, Any] = {}  # label -> EmbeddingTracker, made with the data

    @property
    def status(self) -> str:
        """One of ``STATUSES``."""
        with self._lock:
            return self._status

    def start(self) -> None:
        """Start training in the background; a job starts once."""
        with self._lock:
            if self._thread is not None:
                raise HqnnError("This training job has already been started.")
            self._launch(resume=False)

    def stop(self) -> None:
        """Ask the worker to stop after the current batch; returns at once."""
        with self._lock:
            if self._status in ("queued", "running"):
                self._status = "stopping"
                self._message = "Stopping after the current batch."
            self._stop.set()

    def resume(self) -> None:
        """Continue a stopped job from its last checkpoint in a new worker thread."""
        with self._lock:
            if self._status != "stopped":
                raise HqnnError(f"Only a stopped run can be resumed; this one is {self._status}.")
            if self.running:
                raise HqnnError("The previous worker is still finishing; try again in a moment.")
            self._stop = threading.Event()
            self._launch(resume=True)

    def snapshot(self) -> JobSnapshot:
        """A consistent copy of the progress record, safe to read from any thread."""
        with self._lock:
            quantum = _copy(self._progress[QUANTUM])
            twin = _copy(self._progress[TWIN]) if TWIN in self._progress else None
            maps = {label: t.frames() for label, t in self._trackers.items()}
            return JobSnapshot(status=self._status, quantum=quantum, twin=twin,
                               eta_seconds=self._eta(), error=self._error,
                               message=self._message, maps=maps)

    # -- worker side -------------------------------------------------------------------

    def _launch(self, *, resume: bool) -> None:
        """Create and start the worker thread (lock held)."""
        self._status = "running"
        self._error = None
        self._message = "Resuming from the last checkpoint." if resume else "Loading data."
        super()._launch(resume)

    def _eta(self) -> float | None:
        """Seconds left for the model being trained, from this segment's pace (lock held)."""
        if self._status != "running":
            return None
        current = next((p for p in self._progress.values() if not p.done), None)
        if current is None or not current.total_steps:
            return None
        done = current.step - self._segment_step0
        if done <= 0:
            return None
        pace = (time.monotonic() - self._segment_start) / done
        return max(0.0, pace * (current.total_steps - current.step))

    def _callback(self, label: str):
        def on_event(event: Any) -> None:
            with self._lock:
                epoch = min(self._progress[label].epochs, event.epoch + 1)  # 1-based, under way
                p = self._update(label, epoch=epoch, step=event.step,
                                 total_steps=event.total_steps, elapsed=event.elapsed)
                if event.kind == "start":
                    self._segment_start, self._segment_step0 = time.monotonic(), p.step
                    self._message = f"Training the {label} model."
                elif event.kind == "batch":
                    p.batches.append(_record(event))
                elif event.kind == "epoch":
                    p.epochs_history.append(_record(event))
                elif event.kind == "status" and event.message:
                    self._message = event.message
        return on_event

    def _work(self, resume: bool) -> None:
        """Worker body: load data once, fit each model not yet done, then evaluate."""
        from hqnn_core.data.registry import load_dataset
        from hqnn_core.learning.model import twin_config
        from hqnn_core.learning.training import fit

        data = load_dataset(self.cfg.data)
        warmup.wait_for_kernel()  # a fresh install's kernel: load it compiled, not compile it
        plan = [(QUANTUM, self.cfg)]
        if self.twin:
            plan.append((TWIN, twin_config(self.cfg)))
        for label, cfg in plan:
            with self._lock:
                progress = self._progress[label]
                done, run_dir, again = progress.done, progress.run_dir, progress.step > 0
            if done:
                continue
            if self._stop.is_set():
                self._finish("stopped", "Stopped; press Resume to continue.")
                return
            if run_dir is None:
                run_dir = self._new_run_dir(cfg)
                with self._lock:
                    self._update(label, run_dir=run_dir)
            callbacks = (self._callback(label), self._tracker(label, data),
                         *self._extra_callbacks)
            result = fit(cfg, run_dir=run_dir, callbacks=callbacks, stop_event=self._stop,
                         resume=resume and again, data=data)
            if result.status == "stopped":
                self._finish("stopped", "Stopped; press Resume to continue.")
                return
            evaluation = evaluation_from_metrics(result.metrics, data.x_test)
            with self._lock:
                progress = self._progress[label]
                self._update(label, done=True, evaluation=evaluation,
                             step=max(progress.step, progress.total_steps))
            resume = False
        self._finish("completed", "Training finished.")

    def _failed(self, message: str) -> None:
        self._finish("failed", message, error=True)

    def _update(self, label: str, **changes: Any) -> ModelProgress:
        """Replace fields of one model's progress record (lock held)."""
        progress = self._progress[label] = replace(self._progress[label], **changes)
        return progress

    def _tracker(self, label: str, data: Any) -> Any:
        """The model's live map of a fixed test subset (one per model, kept across resumes)."""
        from hqnn_core.diagnostics.embedding import EmbeddingTracker, subset_indices

        with self._lock:
            if label not in self._trackers:
                index = subset_indices(data.y_test)
                self._trackers[label] = EmbeddingTracker(data.x_test[index], data.y_test[index],
                                                         tuple(data.class_names))
            return self._trackers[label]

    def _new_run_dir(self, cfg: RunConfig) -> Path:
        """A fresh run folder in the run store for ``cfg``."""
        from hqnn_core.learning.runs import RunStore

        return RunStore(self.runs_root).new_run_dir(cfg)

    def _finish(self, status: str, message: str, *, error: bool = False) -> None:
        with self._lock:
            self._status = status
            self._message = message
            self._error = message if error else None
        log.info("Training job %s: %s", status, message)


class JobRegistry:
    """Thread-safe map from a browser-session key to that session's latest training job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}

    def get(self, session: str) -> TrainingJob | None:
        """The session's latest job, running or finished, or None."""
        with self._lock:
            return self._jobs.get(session)

    def start(self, session: str, cfg: RunConfig, runs_root: Path, *,
              twin: bool = False) -> TrainingJob:
        """Start a new job for ``session``; ``HqnnError`` while its last job is still active."""
        with self._lock:
            current = self._jobs.get(session)
            if current is not None and current.status in ACTIVE:
                raise HqnnError("A training job is already running in this browser; stop it "
                                "before starting another.")
            job = TrainingJob(cfg, runs_root, twin=twin)
            self._jobs[session] = job
            job.start()
            return job

    def forget(self, session: str) -> None:
        """Drop the session's job (stopping it first if it still runs)."""
        with self._lock:
            job = self._jobs.pop(session, None)
        if job is not None:
            job.stop()


_REGISTRY = JobRegistry()


def get_registry() -> JobRegistry:
    """The process-wide job registry."""
    return _REGISTRY
