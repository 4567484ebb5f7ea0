"""fit() on the IBM backend (runtime's local testing mode): job status reaches callbacks."""

from __future__ import annotations

from hqnn_core.config import RunConfig
from hqnn_core.learning.training import TrainEvent, fit


def test_ibm_job_status_arrives_as_training_status_events() -> None:
    cfg = RunConfig.from_dict({
        "data": {"name": "digits", "classes": [0, 1], "train_size": 12, "test_size": 10,
                 "val_fraction": 0.0},
        "circuit": {"n_qubits": 2, "layers": 1},
        "model": {"kind": "hybrid", "front": "linear"},
        "train": {"epochs": 1, "batch_size": 6, "backend": "ibm", "ibm_backend": "FakeManilaV2",
                  "shots": 100, "seed": 0},
    })
    events: list[TrainEvent] = []
    result = fit(cfg, callbacks=[events.append])
    assert result.status == "completed"
    jobs = [e for e in events if e.kind == "status" and e.message.startswith("IBM job")]
    assert jobs, "no IBM job status was reported"
    assert {e.extra["status"] for e in jobs} >= {"SUBMITTED", "DONE"}
    assert all(e.extra["backend"] == "fake_manila" for e in jobs)
