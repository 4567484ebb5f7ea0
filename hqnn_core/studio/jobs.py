"""Background training jobs for the UI: one worker, a stop event, a progress record.

A ``TrainingJob`` (a ``background.BackgroundJob``) runs :func:`hqnn_core.learning.training.fit`
in a daemon thread. With ``twin=True`` the classical twin
(:func:`hqnn_core.learning.model.twin_config`) trains beside the quantum model at the same
time, on the same data: each ``fit`` in a thread of its own, kept in step epoch by epoch
(:mod:`hqnn_core.studio.pacing`), so both learning curves and both live maps move together.
Stop reaches both (one stop event), Resume continues each from its own checkpoint, and
each model's numbers are the ones it gets trained alone (its own seeded generator).

The workers only write to lock-protected progress records (:mod:`job_records`); readers
call :meth:`TrainingJob.snapshot`, which copies them under the lock, so a page can poll at
any time. ``get_registry()`` is a process-wide map from a browser-session key to that
session's job, so a page that is reloaded or revisited finds the running job instead of
starting a second one, and two sessions train independently. Nothing here imports
streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from hqnn_core.config import RunConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio import warmup
from hqnn_core.studio.background import BackgroundJob
from hqnn_core.studio.job_records import (ACTIVE, GALLERY_IMAGES, QUANTUM, STATUSES, TWIN,
                                          Evaluation, JobSnapshot, ModelProgress,
                                          copy_progress, evaluation_from_metrics,
                                          event_record)
from hqnn_core.studio.pacing import EpochPacer

__all__ = ["ACTIVE", "GALLERY_IMAGES", "QUANTUM", "STATUSES", "TWIN", "Evaluation",
           "JobRegistry", "JobSnapshot", "ModelProgress", "TrainingJob",
           "evaluation_from_metrics", "get_registry"]

log = logging.getLogger(__name__)


class TrainingJob(BackgroundJob):
    """Train ``cfg`` (and optionally its classical twin beside it) in the background."""

    what = "Training"
    thread_name = "hqnn-training"

    def __init__(self, cfg: RunConfig, runs_root: Path, *, twin: bool = False,
                 callbacks: Sequence[Callable[[Any], None]] = ()) -> None:
        """``callbacks`` also receive every ``TrainEvent`` (in the thread of its model)."""
        super().__init__()
        self.cfg = cfg
        self.runs_root = Path(runs_root)
        self.twin = twin
        self._extra_callbacks = tuple(callbacks)
        self._stop = threading.Event()
        self._pacer: EpochPacer | None = None
        self._status = "queued"
        self._error: str | None = None
        self._message = "Waiting to start."
        self._segments: dict[str, tuple[float, int]] = {}  # label -> (start time, first step)
        self._progress = {QUANTUM: ModelProgress(QUANTUM, epochs=cfg.train.epochs)}
        if twin:
            self._progress[TWIN] = ModelProgress(TWIN, epochs=cfg.train.epochs)
        self._trackers: dict[str, Any] = {}  # label -> EmbeddingTracker, made with the data

    @property
    def status(self) -> str:
        """One of ``STATUSES``."""
        with self._lock:
            return self._status

    @property
    def active(self) -> bool:
        """Queued, running or stopping (the snapshot's test, without copying the record)."""
        return self.status in ACTIVE

    def start(self) -> None:
        """Start training in the background; a job starts once."""
        with self._lock:
            if self._thread is not None:
                raise HqnnError("This training job has already been started.")
            self._launch(resume=False)

    def stop(self) -> None:
        """Ask every model to stop after its current batch; returns at once."""
        with self._lock:
            if self._status in ("queued", "running"):
                self._status = "stopping"
                self._message = "Stopping after the current batch."
            self._stop.set()
            pacer = self._pacer
        if pacer is not None:
            pacer.wake()

    def resume(self) -> None:
        """Continue a stopped job from its models' last checkpoints in a new worker."""
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
            quantum = copy_progress(self._progress[QUANTUM])
            twin = copy_progress(self._progress[TWIN]) if TWIN in self._progress else None
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
        self._segments = {}
        super()._launch(resume)

    def _eta(self) -> float | None:
        """Seconds until the last model finishes, from each one's pace since (re)start."""
        if self._status != "running":
            return None
        left = []
        for label, p in self._progress.items():
            if p.done:
                continue
            start, step0 = self._segments.get(label, (0.0, p.step))
            if not p.total_steps or p.step <= step0:
                return None  # a model without a pace yet
            left.append((time.monotonic() - start) / (p.step - step0) * (p.total_steps - p.step))
        return max(0.0, max(left)) if left else None

    def _callback(self, label: str):
        def on_event(event: Any) -> None:
            with self._lock:
                epoch = min(self._progress[label].epochs, event.epoch + 1)  # 1-based, under way
                p = self._update(label, epoch=epoch, step=event.step,
                                 total_steps=event.total_steps, elapsed=event.elapsed)
                if event.kind == "start":
                    self._segments[label] = (time.monotonic(), p.step)
                    self._message = ("Training the quantum model and its classical twin."
                                     if len(self._progress) > 1 else f"Training the {label} model.")
                elif event.kind == "batch":
                    p.batches.append(event_record(event))
                elif event.kind == "epoch":
                    p.epochs_history.append(event_record(event))
                elif event.kind == "status" and event.message:
                    self._message = event.message
        return on_event

    def _work(self, resume: bool) -> None:
        """Worker body: load data once, train every model not yet done side by side."""
        from hqnn_core.data.registry import load_dataset
        from hqnn_core.learning.model import twin_config

        data = load_dataset(self.cfg.data)
        warmup.wait_for_kernel()  # a fresh install's kernel: load it compiled, not compile it
        configs = {QUANTUM: self.cfg, TWIN: twin_config(self.cfg) if self.twin else None}
        with self._lock:
            todo = {label: p for label, p in self._progress.items() if not p.done}
            pacer = self._pacer = EpochPacer(
                {label: len(p.epochs_history) for label, p in todo.items()}, self._stop)
        if self._stop.is_set():
            self._finish("stopped", "Stopped; press Resume to continue.")
            return
        outcomes = side_by_side([
            (lambda label=label, p=p: self._fit_one(label, configs[label], data,
                                                    resume and p.step > 0, pacer))
            for label, p in todo.items()], on_failure=self.stop)
        if "stopped" in outcomes:
            self._finish("stopped", "Stopped; press Resume to continue.")
        else:
            self._finish("completed", "Training finished.")

    def _fit_one(self, label: str, cfg: RunConfig, data: Any, resume: bool,
                 pacer: EpochPacer) -> str:
        """Train one model (in its own thread); its ``fit`` status."""
        from hqnn_core.learning.training import fit

        with self._lock:
            run_dir = self._progress[label].run_dir
        if run_dir is None:
            run_dir = self._new_run_dir(cfg)
            with self._lock:
                self._update(label, run_dir=run_dir)
        callbacks = (self._callback(label), self._tracker(label, data), *self._extra_callbacks,
                     pacer.callback(label))
        try:
            result = fit(cfg, run_dir=run_dir, callbacks=callbacks, stop_event=self._stop,
                         resume=resume, data=data)
        finally:
            pacer.leave(label)
        if result.status == "completed":
            evaluation = evaluation_from_metrics(result.metrics, data.x_test)
            with self._lock:
                progress = self._progress[label]
                self._update(label, done=True, evaluation=evaluation,
                             step=max(progress.step, progress.total_steps))
        return result.status

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


def side_by_side(tasks: Sequence[Callable[[], str]], *,
                 on_failure: Callable[[], None]) -> list[str]:
    """Run ``tasks`` at the same time (the first in this thread); their results in order.

    When one raises, ``on_failure()`` is called (so the others stop at their next batch),
    every task is waited for, and the first exception is raised.
    """
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = tasks[i]()
        except BaseException as exc:  # re-raised below in the calling thread
            errors.append(exc)
            on_failure()

    threads = [threading.Thread(target=run, args=(i,), daemon=True,
                                name=f"hqnn-training-{i}") for i in range(1, len(tasks))]
    for thread in threads:
        thread.start()
    if tasks:
        run(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


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
            if current is not None and current.active:
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
