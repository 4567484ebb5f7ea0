"""fit() on the IBM backend (runtime's local testing mode): job status reaches callbacks,
and the runtime Batch is closed when fit ends."""

from __future__ import annotations

import pytest

from hqnn_core.config import RunConfig
from hqnn_core.learning.training import TrainEvent, fit

IBM_TINY = {
    "data": {"name": "digits", "classes": [0, 1], "train_size": 12, "test_size": 10,
             "val_fraction": 0.0},
    "circuit": {"n_qubits": 2, "layers": 1},
    "model": {"kind": "hybrid", "front": "linear"},
    "train": {"epochs": 1, "batch_size": 6, "backend": "ibm", "ibm_backend": "FakeManilaV2",
              "shots": 100, "seed": 0},
}


def test_ibm_job_status_arrives_as_training_status_events() -> None:
    cfg = RunConfig.from_dict(IBM_TINY)
    events: list[TrainEvent] = []
    result = fit(cfg, callbacks=[events.append])
    assert result.status == "completed"
    jobs = [e for e in events if e.kind == "status" and e.message.startswith("IBM job")]
    assert jobs, "no IBM job status was reported"
    assert {e.extra["status"] for e in jobs} >= {"SUBMITTED", "DONE"}
    assert all(e.extra["backend"] == "fake_manila" for e in jobs)


class _RecordingBatch:
    """qiskit_ibm_runtime.Batch, remembering every Batch opened and whether it was closed."""

    opened: list = []
    original: type

    def __new__(cls, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        batch = cls.original(*args, **kwargs)
        close = batch.close
        batch.closed = False

        def recording_close() -> None:
            batch.closed = True
            close()

        batch.close = recording_close
        cls.opened.append(batch)
        return batch


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list:
    import qiskit_ibm_runtime

    _RecordingBatch.opened, _RecordingBatch.original = [], qiskit_ibm_runtime.Batch
    monkeypatch.setattr(qiskit_ibm_runtime, "Batch", _RecordingBatch)
    return _RecordingBatch.opened


def test_fit_closes_its_batch_when_done(batches: list) -> None:
    result = fit(RunConfig.from_dict(IBM_TINY))
    assert result.status == "completed"
    assert len(batches) == 1 and batches[0].closed
    assert result.model.quantum_layer._runner.executor._batch is None


def test_fit_closes_its_batch_on_error(batches: list) -> None:
    kept: list = []  # the model stays alive: its Batch is not closed by garbage collection

    def fail(event: TrainEvent) -> None:
        if event.kind == "start":
            kept.append(event.extra["model"])
        if event.kind == "batch":
            raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        fit(RunConfig.from_dict(IBM_TINY), callbacks=[fail])
    assert len(batches) == 1 and batches[0].closed
    assert kept[0].quantum_layer._runner.executor._batch is None
