"""Background training jobs: real tiny runs on digits, stop, resume, the session registry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

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


def twin_job(tmp_path: Path, epochs: int, *callbacks) -> list[TrainingJob]:
    """A job training ``tiny_config(epochs=...)`` with its twin, in a list for callbacks."""
    ref: list[TrainingJob] = []
    ref.append(TrainingJob(tiny_config(epochs=epochs), tmp_path, twin=True,
                           callbacks=tuple(cb(ref) for cb in callbacks)))
    return ref


def at_batch(seen: list):
    """A callback factory recording (quantum step, twin step, quantum done, twin done)."""
    def factory(ref: list[TrainingJob]):
        def on_event(event) -> None:
            if event.kind == "batch":
                snap = ref[0].snapshot()
                seen.append((snap.quantum.step, snap.twin.step, snap.quantum.done,
                             snap.twin.done))
        return on_event
    return factory


def test_the_twin_trains_beside_the_quantum_model_in_step(tmp_path: Path) -> None:
    seen: list = []
    job = twin_job(tmp_path, 3, at_batch(seen))[0]
    job.start()
    assert job.join(WAIT)
    assert job.snapshot().status == "completed", job.snapshot().error
    steps_per_epoch = 4
    # both advance before either finishes, and neither gets an epoch ahead of the other
    assert any(q > 0 and t > 0 and not (qd or td) for q, t, qd, td in seen)
    assert all(abs((q - 1) // steps_per_epoch - (t - 1) // steps_per_epoch) <= 1
               for q, t, _, _ in seen if q and t)
    assert max(q for q, *_ in seen) == max(t for _, t, *_ in seen) == 3 * steps_per_epoch


def test_stop_stops_both_models(tmp_path: Path) -> None:
    seen: list = []
    ref = twin_job(tmp_path, 500, at_batch(seen))
    job = ref[0]
    job.start()
    pause = threading.Event()
    for _ in range(int(WAIT * 10)):  # until both models have taken steps
        if seen and seen[-1][0] > 0 and seen[-1][1] > 0:
            break
        pause.wait(0.1)
    job.stop()
    assert job.join(10.0), "the worker did not stop within 10 s"
    stopped = job.snapshot()
    assert stopped.status == "stopped"
    for model in stopped.models():
        assert 0 < model.step < model.total_steps and not model.done
        assert (model.run_dir / CHECKPOINT_FILE).exists()
    # the job stands still once stopped
    assert len(stopped.quantum.batches) == stopped.quantum.step
    assert len(stopped.twin.batches) == stopped.twin.step


def test_resumed_side_by_side_models_equal_each_model_trained_alone(tmp_path: Path) -> None:
    """Stopped after 5 steps of either, resumed, completed: each model's losses, accuracy and
    saved weights are those of the same configuration trained alone with the same seed."""
    from safetensors.torch import load_file

    from hqnn_core.learning.checkpoint import WEIGHTS_FILE
    from hqnn_core.learning.model import twin_config
    from hqnn_core.learning.training import fit

    ref: list[TrainingJob] = []
    cfg = tiny_config(epochs=3)
    once = threading.Event()

    def stop_once(event) -> None:  # both models call it: the first to take step 5 stops both
        if event.kind == "batch" and event.step == 5 and not once.is_set():
            once.set()
            ref[0].stop()

    ref.append(TrainingJob(cfg, tmp_path / "job", twin=True, callbacks=(stop_once,)))
    job = ref[0]
    job.start()
    assert job.join(WAIT)
    stopped = job.snapshot()
    assert stopped.status == "stopped"
    assert all(0 < m.step < m.total_steps for m in stopped.models())  # both were under way
    job.resume()
    assert job.join(WAIT)
    done = job.snapshot()
    assert done.status == "completed", done.error
    alone = {"quantum": fit(cfg, run_dir=tmp_path / "alone-q"),
             "classical twin": fit(twin_config(cfg), run_dir=tmp_path / "alone-t")}
    for model in done.models():
        reference = alone[model.label]
        assert [b["step"] for b in model.batches] == list(range(1, model.total_steps + 1))
        assert [b["loss"] for b in model.batches] == [
            b["loss"] for b in reference.metrics["history"]["batch"]]
        assert model.evaluation.accuracy == reference.metrics["test_accuracy"]
        ours = load_file(str(model.run_dir / WEIGHTS_FILE))
        theirs = load_file(str(reference.run_dir / WEIGHTS_FILE))
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours)
