"""Background training jobs: real tiny runs on digits, stop, resume, the session registry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hqnn_core.learning.checkpoint import CHECKPOINT_FILE
from hqnn_core.config import CircuitConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from hqnn_core.errors import HqnnError
from hqnn_core.studio.jobs import JobRegistry, TrainingJob, get_registry
from hqnn_core.learning.runs import RunStore

WAIT = 60.0  # generous upper bound for a worker on a busy 2-core machine; never hit when healthy


def tiny_config(*, epochs: int = 2, kind: str = "hybrid") -> RunConfig:
    """Digits 0/1, 2 qubits, one layer: a few dozen optimisation steps."""
    return RunConfig(
        data=DataConfig(name="digits", classes=(0, 1), train_size=64, test_size=32),
        circuit=CircuitConfig(n_qubits=2, layers=1),
        model=ModelConfig(kind=kind),
        train=TrainConfig(epochs=epochs, batch_size=16, lr=0.05, seed=3),
    )


def stop_after(step: int, job_ref: list[TrainingJob]):
    """A callback that stops the job once, when ``step`` optimisation steps are done."""
    def on_event(event) -> None:
        if event.kind == "batch" and event.step == step:
            job_ref[0].stop()
    return on_event


def test_tiny_job_completes_with_history_and_evaluation(tmp_path: Path) -> None:
    job = TrainingJob(tiny_config(), tmp_path, twin=True)
    job.start()
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "completed", snap.error
    assert snap.fraction == 1.0 and snap.eta_seconds is None
    assert snap.total_steps == 2 * 4 and len(snap.batches) == 8 and len(snap.epochs) == 2
    assert {"loss", "acc", "val_loss", "val_acc"} <= set(snap.epochs[-1])
    evaluation = snap.quantum.evaluation
    assert evaluation is not None and evaluation.confusion.shape == (2, 2)
    assert evaluation.confusion.sum() == 32
    assert snap.twin is not None and snap.twin.done and snap.twin.evaluation is not None
    assert set(snap.histories()) == {"quantum", "classical twin"}
    assert (snap.run_dir / "config.json").exists()
    assert snap.twin.run_dir != snap.run_dir and (snap.twin.run_dir / "config.json").exists()
    listed = {run.path for run in RunStore(tmp_path).list(status="completed")}
    assert {snap.run_dir.resolve(), snap.twin.run_dir.resolve()} <= listed


def test_stop_stops_within_a_bounded_wait(tmp_path: Path) -> None:
    started = threading.Event()
    job = TrainingJob(tiny_config(epochs=500), tmp_path,
                      callbacks=(lambda e: started.set() if e.kind == "batch" else None,))
    job.start()
    assert started.wait(WAIT)
    job.stop()
    assert job.status in ("stopping", "stopped")
    assert job.join(10.0), "the worker did not stop within 10 s"
    snap = job.snapshot()
    assert snap.status == "stopped" and 0 < snap.step < snap.total_steps
    assert (snap.run_dir / CHECKPOINT_FILE).exists()


def test_resume_continues_from_the_checkpoint(tmp_path: Path) -> None:
    ref: list[TrainingJob] = []
    job = TrainingJob(tiny_config(epochs=3), tmp_path, callbacks=(stop_after(5, ref),))
    ref.append(job)
    job.start()
    assert job.join(WAIT)
    stopped = job.snapshot()
    assert stopped.status == "stopped" and stopped.step == 5
    with pytest.raises(HqnnError):
        job.start()
    job.resume()
    assert job.join(WAIT)
    done = job.snapshot()
    assert done.status == "completed", done.error
    assert done.run_dir == stopped.run_dir
    assert [b["step"] for b in done.batches] == list(range(1, done.total_steps + 1))


def test_resume_refuses_a_job_that_is_not_stopped(tmp_path: Path) -> None:
    job = TrainingJob(tiny_config(epochs=1), tmp_path)
    with pytest.raises(HqnnError, match="stopped"):
        job.resume()


def test_failure_is_one_sentence(tmp_path: Path) -> None:
    cfg = RunConfig(data=DataConfig(name="folder", root=str(tmp_path / "missing")))
    job = TrainingJob(cfg, tmp_path / "runs")
    job.start()
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "failed" and snap.error and "\n" not in snap.error


def test_registry_keeps_one_job_per_session_and_says_why_it_refuses(tmp_path: Path) -> None:
    registry = JobRegistry()
    cfg = tiny_config(epochs=500)
    first = registry.start("alice", cfg, tmp_path)
    try:
        with pytest.raises(HqnnError, match="already running in this browser; stop it"):
            registry.start("alice", cfg, tmp_path)
        assert registry.get("alice") is first
        other = registry.start("bob", cfg, tmp_path)
        assert other is not first and registry.get("bob") is other
        other.stop()
        assert other.join(10.0)
    finally:
        first.stop()
    assert first.join(10.0)
    again = registry.start("alice", tiny_config(epochs=1), tmp_path)
    assert again is not first
    assert again.join(WAIT)
    assert get_registry() is get_registry()
